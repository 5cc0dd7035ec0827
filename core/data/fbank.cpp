#include "core/data/fbank.h"

#include <fftw3.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <mutex>
#include <random>

#include "core/data/audio_reader.h"
#include "core/error.h"

namespace trellis {
namespace {

constexpr double kPi = 3.14159265358979323846;

// FFTW's planner is not thread-safe; execution with the new-array API is.
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}

struct FftwFree {
  void operator()(void* p) const { fftwf_free(p); }
};

float mel_scale(float f) { return 1127.0f * std::log(1.0f + f / 700.0f); }

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

  std::lock_guard<std::mutex> lock(planner_mutex());
  std::unique_ptr<float, FftwFree> in(fftwf_alloc_real(size_t(padded_size_)));
  std::unique_ptr<fftwf_complex, FftwFree> out(fftwf_alloc_complex(size_t(num_fft_bins + 1)));
  plan_ = fftwf_plan_dft_r2c_1d(padded_size_, in.get(), out.get(), FFTW_MEASURE);
  TRELLIS_CHECK(plan_ != nullptr, ConfigError, "fbank: FFTW could not plan a {}-point FFT",
                padded_size_);
}

Fbank::~Fbank() {
  if (plan_) {
    std::lock_guard<std::mutex> lock(planner_mutex());
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
  std::vector<double> frame(static_cast<size_t>(ws));
  std::vector<float> power(static_cast<size_t>(nbins));
  std::fill(buf.get(), buf.get() + nfft, 0.0f);
  std::mt19937_64 rng(opts_.seed ^ uint64_t(n));
  std::normal_distribution<double> gauss(0.0, 1.0);
  const double eps = FLT_EPSILON;
  const double log_floor = opts_.energy_floor > 0 ? std::log(opts_.energy_floor) : -INFINITY;
  const int64_t pad = opts_.snip_edges ? 0 : ws / 2 - window_shift_ / 2;
  const int64_t len = int64_t(n);
  const int mel_offset = opts_.use_energy && !opts_.htk_compat ? 1 : 0;
  const double pre = opts_.preemphasis_coefficient;

  for (int64_t f = 0; f < frames; ++f) {
    const int64_t start = f * window_shift_ - pad;
    if (start >= 0 && start + ws <= len) {
      for (int j = 0; j < ws; ++j) frame[j] = samples[start + j];
    } else {  // Kaldi's edge reflection: ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} x_{n-2} ...
      for (int j = 0; j < ws; ++j) {
        int64_t k = start + j;
        while (k < 0 || k >= len) k = k < 0 ? -k - 1 : 2 * len - 1 - k;
        frame[j] = samples[k];
      }
    }
    if (opts_.dither != 0) {
      for (double& v : frame) v += gauss(rng) * opts_.dither;
    }
    if (opts_.remove_dc_offset) {
      double mean = 0;
      for (double v : frame) mean += v;
      mean /= ws;
      for (double& v : frame) v -= mean;
    }
    double energy = 0;
    if (opts_.use_energy && opts_.raw_energy) {
      for (double v : frame) energy += v * v;
    }
    float* x = buf.get();
    if (pre != 0) {
      for (int j = ws - 1; j > 0; --j) x[j] = float((frame[j] - pre * frame[j - 1]) * window_[j]);
      x[0] = float((frame[0] - pre * frame[0]) * window_[0]);
    } else {
      for (int j = 0; j < ws; ++j) x[j] = float(frame[j] * window_[j]);
    }
    if (opts_.use_energy && !opts_.raw_energy) {
      for (int j = 0; j < ws; ++j) energy += double(x[j]) * x[j];
    }
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), x, spec.get());
    const fftwf_complex* s = spec.get();
    if (opts_.use_power) {
      for (int k = 0; k < nbins; ++k) power[k] = s[k][0] * s[k][0] + s[k][1] * s[k][1];
    } else {
      for (int k = 0; k < nbins; ++k) power[k] = std::sqrt(s[k][0] * s[k][0] + s[k][1] * s[k][1]);
    }
    float* row = out.data() + f * d;
    for (size_t b = 0; b < mel_.size(); ++b) {
      const MelBin& mb = mel_[b];
      const float* p = power.data() + mb.first;
      float acc = 0;
      for (size_t i = 0; i < mb.weights.size(); ++i) acc += p[i] * mb.weights[i];
      row[mel_offset + b] = opts_.use_log_fbank ? float(std::log(std::max(double(acc), eps))) : acc;
    }
    if (opts_.use_energy) {
      const double e = std::max(std::log(std::max(energy, eps)), log_floor);
      row[opts_.htk_compat ? d - 1 : 0] = float(e);
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
