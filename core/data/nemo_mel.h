#pragma once
// NeMo's log-mel front end (AudioToMelSpectrogramPreprocessor -> FilterbankFeatures, the dense
// `forward` of nemo/collections/asr/parts/preprocessing/features.py, NVIDIA/NeMo as of 2025-09),
// for one utterance. LibTorch-free; FFTW (float) under fftw_planner_mutex(). What the NeMo source
// does, step by step, and what this file does for it:
//
//  1. seq_len = get_seq_len(S) = floor_divide(S + 2*(n_fft//2) - n_fft, hop) = floor(S / hop)
//     (even n_fft, exact_pad False). Older NeMo added 1; the current code does not. The centred
//     STFT below yields floor(S/hop) + 1 frames: the last one is past the valid length.
//  2. dither (only when self.training and dither > 0): x += dither * randn_like(x). Here: only
//     with a generator (the caller passes one for training splits only), N(0, 1) per sample from
//     std::normal_distribution<double> on it.
//  3. preemphasis: x[0] kept, x[t] -= preemph * x[t-1]; then samples at t >= S are zeroed
//     (timemask over the valid part; within one utterance nothing lies past S).
//  4. torch.stft(n_fft, hop, win_length, center=True, pad_mode="constant", window =
//     torch.hann_window(win_length, periodic=False), i.e. 0.5 - 0.5 cos(2 pi n / (win - 1)),
//     zero-padded to n_fft with (n_fft - win) // 2 zeros on the left). Centred with zeros: frame
//     t covers samples t*hop - n_fft/2 ... t*hop + n_fft/2 - 1, zero outside [0, S).
//  5. magnitude sqrt(re^2 + im^2) (guard 0 without use_grads), then ^mag_power (2): |X|^2.
//  6. mel = fb @ P, fb = librosa.filters.mel(sr, n_fft, n_mels, fmin=lowfreq,
//     fmax=highfreq or sr/2, norm="slaney") (Slaney mel scale, htk=False: linear below 1 kHz,
//     logarithmic above; triangles on fft_frequencies k*sr/n_fft; slaney area normalisation
//     2 / (f[m+2] - f[m])), stored as float32 as librosa and NeMo do.
//  7. log(mel + log_zero_guard_value), guard type "add", value 2^-24.
//  8. normalize "per_feature": over the valid frames of each utterance, per mel bin, mean and
//     torch.std (unbiased, T - 1), x = (x - mean) / (std + 1e-5). NeMo raises ValueError for a
//     single valid frame (std would be nan): here a DataError.
//  9. frames >= seq_len set to pad_value 0, time padded with 0 to a multiple of pad_to (16).
//     Here the frames >= seq_len are not returned at all; pad_to is the collate's job
//     (nemo_mel_padded_frames, tasks/collate.h).
// Numerics: power and mel sums, log and statistics in double, FFT in float: within 3e-5 (normalised)
// and 4.2e-5 (raw log-mel) of a float64 torch reference, about as close as NeMo's own float32 run
// (tests/core/data/test_nemo_mel.cpp, tests/golden/make_nemo_mel_golden.py).

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace trellis {

struct NemoMelOptions {
  int sample_rate = 16000;
  int n_fft = 512;
  int win_length = 400;   // NeMo n_window_size = int(window_size * sample_rate)
  int hop_length = 160;   // NeMo n_window_stride = int(window_stride * sample_rate)
  int n_mels = 80;        // NeMo features / nfilt
  double preemph = 0.97;  // 0: none
  double dither = 1e-5;
  double lowfreq = 0;
  double highfreq = 0;  // 0 = sample_rate / 2
  double log_zero_guard_value = 5.960464477539063e-08;  // 2^-24
  bool normalize_per_feature = true;                    // false: NeMo normalize "NA"
  int pad_to = 16;  // applied by the collate: T padded with zeros to a multiple (0: none)
};

// Throws ConfigError naming the bad option.
void validate(const NemoMelOptions& o);

// Valid frames of n samples: floor(n / hop_length).
int64_t nemo_mel_frames(int64_t num_samples, const NemoMelOptions& o);

// frames rounded up to a multiple of pad_to (pad_to <= 0: frames).
int64_t nemo_mel_padded_frames(int64_t frames, int pad_to);

// The mel filterbank NeMo uses (librosa slaney), float32 values: (n_mels, n_fft/2 + 1) row-major.
std::vector<float> nemo_mel_filterbank(const NemoMelOptions& o);

// samples (N) float in [-1, 1] at o.sample_rate -> features (frames, n_mels) row-major float,
// frames = N / hop_length (floor). Dither (o.dither > 0 and rng != nullptr) draws N(0, 1) per
// sample from rng. DataError when N < hop_length (no frame), or with per-feature normalisation
// when only one frame (NeMo refuses it too). Thread-safe; plans and filterbanks are built once
// per (sample_rate, n_fft, win_length, n_mels, lowfreq, highfreq) and shared.
std::vector<float> nemo_mel_features(const std::vector<float>& samples, const NemoMelOptions& o,
                                     std::mt19937_64* rng, int64_t* frames);

// NeMo's per-feature normalisation (normalize: per_feature), shared with the pretraining task:
// x (T, F) row-major -> out (may be x itself): per column, (x - mean) / (unbiased std + 1e-5),
// statistics in double; one frame has std 0.
template <class In>
void normalize_per_feature(const In* x, int64_t T, int64_t F, float* out) {
  for (int64_t f = 0; f < F; ++f) {
    double mean = 0;
    for (int64_t t = 0; t < T; ++t) mean += static_cast<double>(x[t * F + f]);
    mean /= static_cast<double>(T);
    double var = 0;
    for (int64_t t = 0; t < T; ++t) {
      const double d = static_cast<double>(x[t * F + f]) - mean;
      var += d * d;
    }
    const double denom = (T > 1 ? std::sqrt(var / static_cast<double>(T - 1)) : 0.0) + 1e-5;
    for (int64_t t = 0; t < T; ++t)
      out[t * F + f] = static_cast<float>((static_cast<double>(x[t * F + f]) - mean) / denom);
  }
}

}  // namespace trellis
