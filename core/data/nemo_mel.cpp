#include "core/data/nemo_mel.h"

#include <fftw3.h>

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "core/data/fbank.h"
#include "core/error.h"

namespace trellis {

namespace {

constexpr double kPi = 3.14159265358979323846;

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

// librosa.hz_to_mel / mel_to_hz with htk=False (Slaney): linear below 1 kHz, log above.
constexpr double kFsp = 200.0 / 3, kMinLogHz = 1000.0, kMinLogMel = kMinLogHz / kFsp;
const double kLogStep = std::log(6.4) / 27.0;

double hz_to_mel(double f) {
  return f >= kMinLogHz ? kMinLogMel + std::log(f / kMinLogHz) / kLogStep : f / kFsp;
}
double mel_to_hz(double m) {
  return m >= kMinLogMel ? kMinLogHz * std::exp(kLogStep * (m - kMinLogMel)) : kFsp * m;
}

double high_freq(const NemoMelOptions& o) { return o.highfreq > 0 ? o.highfreq : o.sample_rate / 2.0; }

// The parts of a front end that depend only on the options: window, filterbank, FFT plan.
class MelPlan {
 public:
  explicit MelPlan(const NemoMelOptions& o) : n_fft_(o.n_fft), nbins_(o.n_fft / 2 + 1) {
    // torch.stft pads the window to n_fft: (n_fft - win) // 2 zeros on the left.
    win_left_ = (o.n_fft - o.win_length) / 2;
    window_.resize(static_cast<size_t>(o.win_length));
    for (int n = 0; n < o.win_length; ++n)
      window_[size_t(n)] =
          o.win_length == 1 ? 1.0 : 0.5 - 0.5 * std::cos(2 * kPi * n / double(o.win_length - 1));
    const std::vector<float> fb = nemo_mel_filterbank(o);
    mel_.resize(static_cast<size_t>(o.n_mels));
    for (int m = 0; m < o.n_mels; ++m) {
      const float* row = fb.data() + size_t(m) * size_t(nbins_);
      int first = 0, last = nbins_ - 1;
      while (first < nbins_ && row[first] == 0.f) ++first;
      while (last >= first && row[last] == 0.f) --last;
      mel_[size_t(m)].first = first;
      mel_[size_t(m)].weights.assign(row + first, row + last + 1);
    }
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    std::unique_ptr<float, FftwFree> in(fftwf_alloc_real(size_t(n_fft_)));
    std::unique_ptr<fftwf_complex, FftwFree> out(fftwf_alloc_complex(size_t(nbins_)));
    plan_ = fftwf_plan_dft_r2c_1d(n_fft_, in.get(), out.get(), FFTW_ESTIMATE);
    TRELLIS_CHECK(plan_ != nullptr, ConfigError, "nemo_mel: FFTW could not plan a {}-point FFT",
                  n_fft_);
  }
  ~MelPlan() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    fftwf_destroy_plan(plan_);
  }
  MelPlan(const MelPlan&) = delete;
  MelPlan& operator=(const MelPlan&) = delete;

  // x: (N) preemphasised samples (double) -> log-mel (T, n_mels) double, T = frames.
  void log_mel(const std::vector<double>& x, int64_t frames, int hop, double guard,
               std::vector<double>& out) const {
    const auto N = static_cast<int64_t>(x.size());
    const auto n_mels = static_cast<int64_t>(mel_.size());
    out.assign(static_cast<size_t>(frames * n_mels), 0.0);
    std::unique_ptr<float, FftwFree> buf(fftwf_alloc_real(size_t(n_fft_)));
    std::unique_ptr<fftwf_complex, FftwFree> spec(fftwf_alloc_complex(size_t(nbins_)));
    std::vector<double> power(static_cast<size_t>(nbins_));
    const int64_t win = static_cast<int64_t>(window_.size());
    for (int64_t t = 0; t < frames; ++t) {
      float* b = buf.get();
      for (int j = 0; j < n_fft_; ++j) b[j] = 0.f;
      // Frame t of the centred STFT starts at sample t*hop - n_fft/2 (zeros outside [0, N)).
      const int64_t start = t * hop - n_fft_ / 2 + win_left_;
      for (int64_t n = 0; n < win; ++n) {
        const int64_t s = start + n;
        if (s >= 0 && s < N) b[win_left_ + n] = static_cast<float>(x[size_t(s)] * window_[size_t(n)]);
      }
      fftwf_execute_dft_r2c(plan_, b, spec.get());
      for (int k = 0; k < nbins_; ++k) {
        const double re = spec.get()[k][0], im = spec.get()[k][1];
        power[size_t(k)] = re * re + im * im;
      }
      double* row = out.data() + t * n_mels;
      for (int64_t m = 0; m < n_mels; ++m) {
        const MelBin& bin = mel_[size_t(m)];
        double acc = 0;
        for (size_t i = 0; i < bin.weights.size(); ++i)
          acc += double(bin.weights[i]) * power[size_t(bin.first) + i];
        row[m] = std::log(acc + guard);
      }
    }
  }

 private:
  struct MelBin {
    int first = 0;               // first FFT bin with a non-zero weight
    std::vector<float> weights;  // consecutive weights from `first`
  };
  int n_fft_, nbins_, win_left_ = 0;
  std::vector<double> window_;  // (win_length) symmetric Hann
  std::vector<MelBin> mel_;     // (n_mels)
  fftwf_plan plan_ = nullptr;
};

const MelPlan& shared_plan(const NemoMelOptions& o) {
  using Key = std::tuple<int, int, int, int, double, double>;
  static std::mutex cache_mutex;
  static std::map<Key, std::unique_ptr<MelPlan>> cache;
  std::lock_guard<std::mutex> lock(cache_mutex);
  auto& slot = cache[Key{o.sample_rate, o.n_fft, o.win_length, o.n_mels, o.lowfreq, high_freq(o)}];
  if (!slot) slot = std::make_unique<MelPlan>(o);
  return *slot;
}

}  // namespace

void validate(const NemoMelOptions& o) {
  TRELLIS_CHECK(o.sample_rate > 0, ConfigError, "nemo_mel: sample_rate {} must be positive",
                o.sample_rate);
  TRELLIS_CHECK(o.n_fft > 0 && o.win_length > 0 && o.win_length <= o.n_fft, ConfigError,
                "nemo_mel: need 0 < window length ({}) <= n_fft ({})", o.win_length, o.n_fft);
  TRELLIS_CHECK(o.hop_length > 0, ConfigError, "nemo_mel: hop length {} must be positive",
                o.hop_length);
  TRELLIS_CHECK(o.n_mels > 0, ConfigError, "nemo_mel: n_mels {} must be positive", o.n_mels);
  TRELLIS_CHECK(o.lowfreq >= 0 && o.lowfreq < high_freq(o) && high_freq(o) <= o.sample_rate / 2.0,
                ConfigError, "nemo_mel: need 0 <= lowfreq ({}) < highfreq ({}) <= sample_rate/2",
                o.lowfreq, high_freq(o));
  TRELLIS_CHECK(o.dither >= 0 && o.log_zero_guard_value >= 0 && o.pad_to >= 0, ConfigError,
                "nemo_mel: dither ({}), log_zero_guard_value ({}) and pad_to ({}) must be >= 0",
                o.dither, o.log_zero_guard_value, o.pad_to);
}

int64_t nemo_mel_frames(int64_t num_samples, const NemoMelOptions& o) {
  return num_samples / o.hop_length;
}

int64_t nemo_mel_padded_frames(int64_t frames, int pad_to) {
  if (pad_to <= 0 || frames % pad_to == 0) return frames;
  return frames + (pad_to - frames % pad_to);
}

std::vector<float> nemo_mel_filterbank(const NemoMelOptions& o) {
  validate(o);
  const int nbins = o.n_fft / 2 + 1, M = o.n_mels;
  // mel_f = mel_to_hz(linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)) (numpy linspace:
  // start + i * step, the last point exactly the end).
  const double m0 = hz_to_mel(o.lowfreq), m1 = hz_to_mel(high_freq(o));
  std::vector<double> f(static_cast<size_t>(M + 2));
  const double step = (m1 - m0) / (M + 1);
  for (int i = 0; i < M + 2; ++i) f[size_t(i)] = mel_to_hz(i == M + 1 ? m1 : m0 + i * step);
  std::vector<float> fb(static_cast<size_t>(M) * size_t(nbins), 0.f);
  for (int m = 0; m < M; ++m) {
    const double lo = f[size_t(m)], c = f[size_t(m) + 1], hi = f[size_t(m) + 2];
    const double enorm = 2.0 / (hi - lo);
    for (int k = 0; k < nbins; ++k) {
      const double fk = double(k) * o.sample_rate / o.n_fft;  // np.fft.rfftfreq
      const double lower = (fk - lo) / (c - lo), upper = (hi - fk) / (hi - c);
      const double w = std::max(0.0, std::min(lower, upper));
      // librosa stores the triangle in float32, then scales it by enorm in place.
      fb[size_t(m) * size_t(nbins) + size_t(k)] =
          static_cast<float>(double(static_cast<float>(w)) * enorm);
    }
  }
  return fb;
}

std::vector<float> nemo_mel_features(const std::vector<float>& samples, const NemoMelOptions& o,
                                     std::mt19937_64* rng, int64_t* frames) {
  validate(o);
  const auto N = static_cast<int64_t>(samples.size());
  const int64_t T = nemo_mel_frames(N, o);
  TRELLIS_CHECK(T >= 1, DataError, "audio too short for one NeMo mel frame ({} samples, hop {})",
                N, o.hop_length);
  TRELLIS_CHECK(T >= 2 || !o.normalize_per_feature, DataError,
                "audio too short for NeMo's per-feature normalisation: {} samples give one frame "
                "(hop {}); it needs two",
                N, o.hop_length);
  const MelPlan& plan = shared_plan(o);

  std::vector<double> x(samples.begin(), samples.end());
  if (o.dither > 0 && rng != nullptr) {
    std::normal_distribution<double> gauss(0.0, 1.0);
    for (double& v : x) v += o.dither * gauss(*rng);
  }
  if (o.preemph != 0) {
    for (int64_t i = N - 1; i >= 1; --i) x[size_t(i)] -= o.preemph * x[size_t(i - 1)];
  }
  std::vector<double> feats;  // (T, n_mels)
  plan.log_mel(x, T, o.hop_length, o.log_zero_guard_value, feats);

  const int64_t M = o.n_mels;
  std::vector<float> out(static_cast<size_t>(T * M));
  if (o.normalize_per_feature) {
    normalize_per_feature(feats.data(), T, M, out.data());
  } else {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(feats[i]);
  }
  if (frames) *frames = T;
  return out;
}

}  // namespace trellis
