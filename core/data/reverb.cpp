#include "core/data/reverb.h"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/data/fbank.h"
#include "core/data/noise_augment.h"
#include "core/error.h"

namespace trellis {
namespace {

constexpr int kMinLog2 = 10, kMaxLog2 = 20;  // FFT sizes 1024 .. 2^20

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

// r2c and c2r plans for every power-of-two size, made once (FFTW's planner is not thread-safe;
// executing a plan on new arrays is). FFTW_ESTIMATE leaves the planning arrays alone and takes
// microseconds per size.
struct Plans {
  fftwf_plan r2c[kMaxLog2 + 1] = {}, c2r[kMaxLog2 + 1] = {};
  Plans() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());  // an Fbank may plan meanwhile
    const int n_max = 1 << kMaxLog2;
    std::unique_ptr<float, FftwFree> re(fftwf_alloc_real(size_t(n_max)));
    std::unique_ptr<fftwf_complex, FftwFree> spec(fftwf_alloc_complex(size_t(n_max / 2 + 1)));
    for (int k = kMinLog2; k <= kMaxLog2; ++k) {
      r2c[k] = fftwf_plan_dft_r2c_1d(1 << k, re.get(), spec.get(), FFTW_ESTIMATE);
      c2r[k] = fftwf_plan_dft_c2r_1d(1 << k, spec.get(), re.get(), FFTW_ESTIMATE);
      TRELLIS_CHECK(r2c[k] && c2r[k], DataError, "reverb: FFTW could not plan size {}", 1 << k);
    }
  }
};

const Plans& plans() {
  static const Plans p;  // C++11 magic static: made by one thread, the others wait
  return p;
}

}  // namespace

Reverb::Reverb(std::shared_ptr<const AudioPool> pool, const ReverbOptions& o)
    : pool_(std::move(pool)), opts_(o) {
  TRELLIS_CHECK(pool_ && pool_->size() > 0, DataError, "reverb: no impulse responses");
  TRELLIS_CHECK(o.prob >= 0 && o.prob <= 1, DataError, "reverb: probability {} outside [0, 1]",
                o.prob);
  plans();
}

std::unique_ptr<WaveformTransform> Reverb::from_config(const YAML::Node& params,
                                                       const std::string& config_path) {
  TransformOptions p(params, config_path, "reverb");
  p.check_known({"manifest", "prob", "normalize"});
  ReverbOptions o;
  const std::string source = p.get_path("manifest");
  if (source.empty()) p.fail("manifest", "missing (a folder of RIR audio or a list of files)");
  o.prob = p.get_double("prob", o.prob);
  if (o.prob < 0 || o.prob > 1) p.fail("prob", fmt::format("{} outside [0, 1]", o.prob));
  const std::string norm = p.get_string("normalize", "energy");
  if (norm != "energy" && norm != "peak") {
    p.fail("normalize", fmt::format("'{}' is not energy or peak", norm));
  }
  o.peak_normalize = norm == "peak";
  std::shared_ptr<const AudioPool> pool;
  try {
    pool = std::make_shared<const AudioPool>(source);
  } catch (const DataError& e) {
    p.fail("manifest", e.what());
  }
  return std::make_unique<Reverb>(std::move(pool), o);
}

int64_t Reverb::peak_index(const std::vector<float>& h) {
  int64_t best = 0;
  for (size_t i = 1; i < h.size(); ++i) {
    if (std::fabs(h[i]) > std::fabs(h[size_t(best)])) best = int64_t(i);
  }
  return best;
}

std::vector<float> Reverb::normalize(const std::vector<float>& h) const {
  double d = 0;
  if (opts_.peak_normalize) {
    for (float v : h) d = std::max(d, double(std::fabs(v)));
  } else {
    for (float v : h) d += double(v) * v;
    d = std::sqrt(d);
  }
  std::vector<float> out(h);
  if (d > 0) {
    for (float& v : out) v = float(double(v) / d);
  }
  return out;
}

std::vector<float> Reverb::convolve(const std::vector<float>& x, const std::vector<float>& h,
                                    int64_t shift) {
  const int64_t N = int64_t(x.size()), M = int64_t(h.size());
  std::vector<float> out(size_t(N), 0.0f);
  if (N == 0 || M == 0) return out;
  TRELLIS_CHECK(M <= (int64_t(1) << (kMaxLog2 - 1)), DataError,
                "reverb: impulse response of {} samples (at most {})", M,
                int64_t(1) << (kMaxLog2 - 1));
  int k = kMinLog2;
  while ((int64_t(1) << k) < 2 * M) ++k;
  const int64_t nfft = int64_t(1) << k, nbins = nfft / 2 + 1, L = nfft - M + 1;
  const Plans& P = plans();
  std::unique_ptr<float, FftwFree> buf(fftwf_alloc_real(size_t(nfft)));
  std::unique_ptr<fftwf_complex, FftwFree> H(fftwf_alloc_complex(size_t(nbins)));
  std::unique_ptr<fftwf_complex, FftwFree> X(fftwf_alloc_complex(size_t(nbins)));
  float* b = buf.get();
  std::fill(b, b + nfft, 0.0f);
  std::copy(h.begin(), h.end(), b);
  fftwf_execute_dft_r2c(P.r2c[k], b, H.get());
  const float inv = 1.0f / float(nfft);
  // Block at s: x[s, s + L) * h covers full-convolution indices [s, s + nfft) exactly (no wrap:
  // L + M - 1 = nfft); output index = full index - shift.
  for (int64_t s = 0; s < N && s < shift + N; s += L) {
    const int64_t len = std::min(L, N - s);
    std::fill(b, b + nfft, 0.0f);
    std::copy(x.begin() + s, x.begin() + s + len, b);
    fftwf_execute_dft_r2c(P.r2c[k], b, X.get());
    fftwf_complex* xs = X.get();
    const fftwf_complex* hs = H.get();
    for (int64_t i = 0; i < nbins; ++i) {
      const float re = xs[i][0] * hs[i][0] - xs[i][1] * hs[i][1];
      const float im = xs[i][0] * hs[i][1] + xs[i][1] * hs[i][0];
      xs[i][0] = re, xs[i][1] = im;
    }
    fftwf_execute_dft_c2r(P.c2r[k], X.get(), b);
    const int64_t lo = std::max<int64_t>(s, shift), hi = std::min<int64_t>(s + nfft, shift + N);
    for (int64_t j = lo; j < hi; ++j) out[size_t(j - shift)] += b[j - s] * inv;
  }
  return out;
}

void Reverb::apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (!(u < opts_.prob) || samples.empty()) return;
  const size_t k = std::uniform_int_distribution<size_t>(0, pool_->size() - 1)(rng);
  const std::vector<float> h = normalize(*pool_->get(k, sample_rate));
  samples = convolve(samples, h, peak_index(h));
}

}  // namespace trellis
