#include "core/data/fbank.h"

#include <fftw3.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <random>

#include "core/data/audio_reader.h"
#include "core/error.h"

namespace trellis {

std::mutex& fftw_planner_mutex() {
  static std::mutex m;
  return m;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

float mel_scale(float f) { return 1127.0f * std::log(1.0f + f / 700.0f); }

// Hot loops, auto-vectorised; on x86-64 GCC also emits an AVX2 clone picked at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TRELLIS_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define TRELLIS_SIMD_CLONES
#endif

// Sum in double with 8 independent partial sums (vectorisable). x: (n,) float
TRELLIS_SIMD_CLONES double sum_f64(const float* x, int n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) acc[l] += double(x[j + l]);
  }
  double s = 0;
  for (; j < n; ++j) s += x[j];
  for (double a : acc) s += a;
  return s;
}

// Sum of (x - mean)^2 in double, as sum_f64. x: (n,) float
TRELLIS_SIMD_CLONES double sumsq_f64(const float* x, int n, float mean) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int l = 0; l < 8; ++l) {
      const float y = x[j + l] - mean;
      acc[l] += double(y) * double(y);
    }
  }
  double s = 0;
  for (; j < n; ++j) s += double(x[j] - mean) * double(x[j] - mean);
  for (double a : acc) s += a;
  return s;
}

// y = x - mean; out[j] = (y[j] - pre * y[j-1]) * w[j], y[-1] := y[0]. x, w, out: (n,) float
TRELLIS_SIMD_CLONES void preemph_window(const float* x, float mean, const float* w, float pre,
                                        int n, float* out) {
  out[0] = ((x[0] - mean) - pre * (x[0] - mean)) * w[0];
  for (int j = 1; j < n; ++j) out[j] = ((x[j] - mean) - pre * (x[j - 1] - mean)) * w[j];
}

// |X_k|^2 (or |X_k| when !power). spec: (nbins, 2) float interleaved -> out: (nbins,) float
TRELLIS_SIMD_CLONES void spectrum(const float* spec, int nbins, bool power, float* out) {
  for (int k = 0; k < nbins; ++k)
    out[k] = spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1];
  if (!power) {
    for (int k = 0; k < nbins; ++k) out[k] = std::sqrt(out[k]);
  }
}

// log(max(x, FLT_EPSILON)) for float x, within a few float ulps of logf; vectorisable (no libm).
// x: (n,) float, in place
TRELLIS_SIMD_CLONES void log_floor(float* x, int n) {
  for (int j = 0; j < n; ++j) {
    int32_t ibits;  // max with FLT_EPSILON on the bit pattern (monotonic for floats >= 0;
    std::memcpy(&ibits, x + j, 4);  // negative floats are negative ints): an integer max
    ibits = ibits < 0x34000000 ? 0x34000000 : ibits;  // vectorises, a float compare would not
    const uint32_t bits = uint32_t(ibits);
    // v = m * 2^e with m in [sqrt(1/2), sqrt(2)) (musl's logf reduction, branch-free).
    const uint32_t ix = bits - 0x3f3504f3u;
    const int32_t e = int32_t(ix) >> 23;
    const uint32_t mbits = (ix & 0x007fffffu) + 0x3f3504f3u;
    float m;
    std::memcpy(&m, &mbits, 4);
    // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.1716: odd series to s^11.
    const float sf = (m - 1.0f) / (m + 1.0f), s2 = sf * sf;
    const float lm =
        2.0f * sf *
        (1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9 + s2 / 11)))));
    x[j] = float(e) * 0.693147180559945f + lm;
  }
}

// (window_size,) window as torch builds it (periodic=False), in double.
std::vector<double> make_window(const FbankOptions& o, int n) {
  std::vector<double> w(size_t(n), 1.0);
  const double a = n > 1 ? 2 * kPi / (n - 1) : 0.0;
  for (int i = 0; i < n; ++i) {
    const double hann = 0.5 - 0.5 * std::cos(a * i);
    if (o.window_type == "hanning") {
      w[i] = hann;
    } else if (o.window_type == "povey") {
      w[i] = std::pow(hann, 0.85);
    } else if (o.window_type == "hamming") {
      w[i] = 0.54 - 0.46 * std::cos(a * i);
    } else if (o.window_type == "blackman") {
      w[i] =
          o.blackman_coeff - 0.5 * std::cos(a * i) + (0.5 - o.blackman_coeff) * std::cos(2 * a * i);
    } else if (o.window_type != "rectangular") {
      throw ConfigError(fmt::format(
          "fbank: unknown window_type '{}' (povey, hanning, hamming, rectangular, blackman)",
          o.window_type));
    }
  }
  return w;
}

}  // namespace

Fbank::Fbank(const FbankOptions& opts) : opts_(opts) {
  const double sr = opts.sample_frequency;
  window_shift_ = int(sr * opts.frame_shift_ms * 0.001);
  window_size_ = int(sr * opts.frame_length_ms * 0.001);
  TRELLIS_CHECK(window_size_ >= 2 && window_shift_ >= 1, ConfigError,
                "fbank: frame_length {} ms / frame_shift {} ms at {} Hz give no samples",
                opts.frame_length_ms, opts.frame_shift_ms, sr);
  padded_size_ = window_size_;
  if (opts.round_to_power_of_two) {
    padded_size_ = 1;
    while (padded_size_ < window_size_) padded_size_ *= 2;
  }
  TRELLIS_CHECK(padded_size_ % 2 == 0, ConfigError, "fbank: padded window size {} must be even",
                padded_size_);
  TRELLIS_CHECK(opts.num_mel_bins > 3, ConfigError, "fbank: need more than 3 mel bins, got {}",
                opts.num_mel_bins);
  const std::vector<double> w = make_window(opts, window_size_);
  window_.assign(w.begin(), w.end());

  // Mel triangles, computed in float32 like torchaudio's get_mel_banks.
  const double nyquist = 0.5 * sr;
  const double high = opts.high_freq <= 0 ? opts.high_freq + nyquist : opts.high_freq;
  TRELLIS_CHECK(opts.low_freq >= 0 && opts.low_freq < nyquist && high > 0 && high <= nyquist &&
                    opts.low_freq < high,
                ConfigError, "fbank: bad low_freq {} / high_freq {} for sample rate {}",
                opts.low_freq, opts.high_freq, sr);
  const int num_fft_bins = padded_size_ / 2;
  const float fft_bin_width = float(sr / padded_size_);
  const float mel_low = float(1127.0 * std::log(1.0 + opts.low_freq / 700.0));
  const float mel_high = float(1127.0 * std::log(1.0 + high / 700.0));
  const float delta = (mel_high - mel_low) / float(opts.num_mel_bins + 1);
  std::vector<float> mel(static_cast<size_t>(num_fft_bins));
  for (int k = 0; k < num_fft_bins; ++k) mel[k] = mel_scale(fft_bin_width * float(k));
  mel_.resize(size_t(opts.num_mel_bins));
  for (int b = 0; b < opts.num_mel_bins; ++b) {
    const float left = mel_low + float(b) * delta, center = mel_low + float(b + 1) * delta,
                right = mel_low + float(b + 2) * delta;
    MelBin& mb = mel_[b];
    mb.first = -1;
    for (int k = 0; k < num_fft_bins; ++k) {
      const float up = (mel[k] - left) / (center - left),
                  down = (right - mel[k]) / (right - center);
      const float v = std::max(0.0f, std::min(up, down));
      if (v > 0) {
        if (mb.first < 0) mb.first = k;
        mb.weights.resize(size_t(k - mb.first + 1), 0.0f);
        mb.weights[size_t(k - mb.first)] = v;
      }
    }
    if (mb.first < 0) mb.first = 0;  // an empty triangle (very narrow bins): energy 0 -> floor
  }

  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  std::unique_ptr<float, FftwFree> in(fftwf_alloc_real(size_t(padded_size_)));
  std::unique_ptr<fftwf_complex, FftwFree> out(fftwf_alloc_complex(size_t(num_fft_bins + 1)));
  // FFTW_ESTIMATE, not FFTW_MEASURE: measured plans differ between processes, and so would the
  // features (log-mel of quiet frames amplifies the rounding); features must be reproducible.
  plan_ = fftwf_plan_dft_r2c_1d(padded_size_, in.get(), out.get(), FFTW_ESTIMATE);
  TRELLIS_CHECK(plan_ != nullptr, ConfigError, "fbank: FFTW could not plan a {}-point FFT",
                padded_size_);
}

Fbank::~Fbank() {
  if (plan_) {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fftwf_destroy_plan(static_cast<fftwf_plan>(plan_));
  }
}

int64_t Fbank::num_frames(size_t n) const {
  if (opts_.snip_edges) {
    return n < size_t(window_size_) ? 0 : 1 + int64_t(n - size_t(window_size_)) / window_shift_;
  }
  return (int64_t(n) + window_shift_ / 2) / window_shift_;
}

std::vector<float> Fbank::compute(const float* samples, size_t n, int64_t* num_frames_out) const {
  const int64_t frames = num_frames(n);
  if (num_frames_out) *num_frames_out = frames;
  const int64_t d = dim();
  std::vector<float> out(size_t(frames * d));
  if (frames == 0) return out;
  const int ws = window_size_, nfft = padded_size_, nbins = nfft / 2 + 1;
  std::unique_ptr<float, FftwFree> buf(fftwf_alloc_real(size_t(nfft)));
  std::unique_ptr<fftwf_complex, FftwFree> spec(fftwf_alloc_complex(size_t(nbins)));
  std::vector<float> frame(static_cast<size_t>(ws));
  std::vector<float> power(static_cast<size_t>(nbins));
  std::fill(buf.get(), buf.get() + nfft, 0.0f);
  std::mt19937_64 rng(opts_.seed ^ uint64_t(n));
  std::normal_distribution<double> gauss(0.0, 1.0);
  const double eps = FLT_EPSILON;
  const double log_floor_energy = opts_.energy_floor > 0 ? std::log(opts_.energy_floor) : -INFINITY;
  const int64_t pad = opts_.snip_edges ? 0 : ws / 2 - window_shift_ / 2;
  const int64_t len = int64_t(n);
  const int mel_offset = opts_.use_energy && !opts_.htk_compat ? 1 : 0;
  const float pre = float(opts_.preemphasis_coefficient);

  for (int64_t f = 0; f < frames; ++f) {
    const int64_t start = f * window_shift_ - pad;
    const float* src = samples + start;   // the frame, read in place when it needs no copy
    if (start < 0 || start + ws > len) {  // Kaldi's edge reflection: x1 x0 | x0 x1 .. | .. x_{n-1}
      for (int j = 0; j < ws; ++j) {
        int64_t k = start + j;
        while (k < 0 || k >= len) k = k < 0 ? -k - 1 : 2 * len - 1 - k;
        frame[j] = samples[k];
      }
      src = frame.data();
    }
    if (opts_.dither != 0) {
      if (src != frame.data()) std::memcpy(frame.data(), src, sizeof(float) * size_t(ws));
      for (float& v : frame) v = float(v + gauss(rng) * opts_.dither);
      src = frame.data();
    }
    const float mean = opts_.remove_dc_offset ? float(sum_f64(src, ws) / ws) : 0.0f;
    double energy = 0;
    if (opts_.use_energy && opts_.raw_energy) energy = sumsq_f64(src, ws, mean);
    float* x = buf.get();
    preemph_window(src, mean, window_.data(), pre, ws, x);
    if (opts_.use_energy && !opts_.raw_energy) energy = sumsq_f64(x, ws, 0.0f);
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), x, spec.get());
    spectrum(&spec.get()[0][0], nbins, opts_.use_power, power.data());
    float* row = out.data() + f * d + mel_offset;
    for (size_t b = 0; b < mel_.size(); ++b) {
      const MelBin& mb = mel_[b];
      const float* p = power.data() + mb.first;
      float acc = 0;
      for (size_t i = 0; i < mb.weights.size(); ++i) acc += p[i] * mb.weights[i];
      row[b] = acc;
    }
    if (opts_.use_log_fbank) log_floor(row, int(mel_.size()));
    if (opts_.use_energy) {
      const double e = std::max(std::log(std::max(energy, eps)), log_floor_energy);
      out[size_t(f * d + (opts_.htk_compat ? d - 1 : 0))] = float(e);
    }
  }
  if (opts_.subtract_mean) {
    for (int64_t c = 0; c < d; ++c) {
      double m = 0;
      for (int64_t f = 0; f < frames; ++f) m += out[f * d + c];
      m /= double(frames);
      for (int64_t f = 0; f < frames; ++f) out[f * d + c] = float(out[f * d + c] - m);
    }
  }
  return out;
}

std::vector<float> compute_fbank_features(const Audio& audio, int num_mel_bins,
                                          int64_t* num_frames) {
  static std::mutex cache_mutex;
  static std::map<std::pair<int, int>, std::unique_ptr<Fbank>> cache;
  const Fbank* fb;
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto& slot = cache[{audio.sample_rate, num_mel_bins}];
    if (!slot) {
      FbankOptions o;
      o.num_mel_bins = num_mel_bins;
      o.sample_frequency = audio.sample_rate;
      slot = std::make_unique<Fbank>(o);
    }
    fb = slot.get();
  }
  std::vector<float> scaled(audio.samples.size());
  for (size_t i = 0; i < scaled.size(); ++i) scaled[i] = audio.samples[i] * 32768.0f;
  return fb->compute(scaled.data(), scaled.size(), num_frames);
}

}  // namespace trellis
