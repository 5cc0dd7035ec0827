#pragma once
// Kaldi-compatible log-mel filterbank, numerically matching torchaudio.compliance.kaldi.fbank
// (same options and defaults, checked against torchaudio 0.13 goldens to < 1e-3 abs).
//
// Per frame (window_size = sr * frame_length_ms / 1000 samples, hop sr * frame_shift_ms / 1000):
//   x += dither * N(0, 1); x -= mean(x) (remove_dc_offset); E = log(max(sum x^2, eps)) (raw);
//   x[j] -= preemph * x[max(j-1, 0)]; x *= window; zero-pad to a power of two; P = |rfft(x)|^2;
//   mel[b] = sum_k P[k] * tri_b(k) (triangles equally spaced on 1127 ln(1 + f/700) between
//   low_freq and high_freq); out = log(max(mel, eps)), eps = FLT_EPSILON;
//   with use_energy, max(E, log(energy_floor)) is prepended as column 0.
// Frames: snip_edges ? 1 + (N - window_size) / hop (0 if N < window_size)
//                    : (N + hop / 2) / hop, edges reflected as Kaldi does.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

namespace trellis {

// FFTW's planner is not thread-safe (executing a plan on new arrays is): every plan made or
// destroyed in trellis (fbank, reverb) holds this lock.
std::mutex& fftw_planner_mutex();

struct Audio;

struct FbankOptions {
  int num_mel_bins = 80;
  double frame_length_ms = 25, frame_shift_ms = 10;
  double dither = 0;
  double preemphasis_coefficient = 0.97;
  bool remove_dc_offset = true;
  std::string window_type = "povey";  // povey, hanning, hamming, rectangular, blackman
  bool round_to_power_of_two = true;
  bool snip_edges = true;
  double low_freq = 20, high_freq = 0;  // high_freq <= 0: offset from Nyquist
  double energy_floor = 1.0;
  bool use_energy = false;
  bool use_log_fbank = true;
  bool use_power = true;
  double sample_frequency = 16000;
  uint64_t seed = 0;  // dither noise: mt19937_64(seed ^ num_samples), reproducible per input
  // Less common torchaudio options.
  bool raw_energy = true;
  bool htk_compat = false;  // with use_energy: energy as the last column instead of the first
  double blackman_coeff = 0.42;
  bool subtract_mean = false;
};

class Fbank {
 public:
  // Validates options (ConfigError), builds window, mel triangles and the FFT plan.
  explicit Fbank(const FbankOptions& opts);
  ~Fbank();
  Fbank(const Fbank&) = delete;
  Fbank& operator=(const Fbank&) = delete;

  // Thread-safe. samples: (n,) float at opts.sample_frequency (Kaldi scale, i.e. 16-bit integer
  // range) -> (num_frames, dim()) row-major float
  std::vector<float> compute(const float* samples, size_t n, int64_t* num_frames) const;

  int64_t num_frames(size_t n) const;
  int64_t dim() const { return opts_.num_mel_bins + (opts_.use_energy ? 1 : 0); }
  const FbankOptions& options() const { return opts_; }

 private:
  struct MelBin {
    int first;                   // first FFT bin with a non-zero weight
    std::vector<float> weights;  // consecutive weights from `first`
  };
  FbankOptions opts_;
  int window_shift_ = 0, window_size_ = 0, padded_size_ = 0;
  std::vector<float> window_;  // (window_size,)
  std::vector<MelBin> mel_;    // (num_mel_bins,)
  void* plan_ = nullptr;       // fftwf_plan (r2c, padded_size)
};

// fairseq's prep (FBK data_utils_new / UP data_utils.extract_fbank_features): waveform in [-1, 1]
// scaled by 2^15, Kaldi fbank with torchaudio defaults, num_mel_bins bins, sample_frequency =
// audio.sample_rate, dither 0. The Fbank for each (rate, bins) is built once and shared.
// audio.samples: (N,) float -> (T, num_mel_bins) row-major float
std::vector<float> compute_fbank_features(const Audio& audio, int num_mel_bins = 80,
                                          int64_t* num_frames = nullptr);

}  // namespace trellis
