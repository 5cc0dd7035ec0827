#pragma once
// Speech/noise mixing of one batch of waveforms (NeMo's MultiSpeakerNoiseAugmentation, the
// batch augmentor of NEST pretraining; docs/ssl.md). LibTorch-free, deterministic given the rng.
//
// For each utterance i (batch rows in order, length n_i valid samples):
//   u ~ U[0,1); nothing else is drawn and noisy_i = audio_i unless u < prob;
//   r = min_mix_rate, or r ~ U[min_mix_rate, max_mix_rate) when min < max;
//   mix_len = min(n_i, max(1, int(n_i * r)));
//   S = min_num_segments, or S ~ U{min..max} when min < max; K (speakers) likewise, then
//     K = min(K, B - 1);
//   segment lengths: [mix_len] when S == 1; else a multinomial split of mix_len into S equal-
//     probability parts, drawn as S-1 sequential binomials len_s ~ Bin(rest, 1/(S-s));
//   v ~ U[0,1); mode noise when v < noise_ratio or B == 1, else speech;
//   rho ~ U[min_r_noise, max_r_noise] (noise) or U[min_r_speech, max_r_speech] (speech), dB;
//   sources:
//     noise: without a noise pool the interfering signal is zero (nothing more is drawn);
//       else file k ~ U{0..K_files-1} (resampled, cached by AudioPool), length L;
//       offset o ~ U{0..L-mix_len} when L > mix_len, else o = 0 and the file is tiled:
//       clip[t] = file[(o + t) mod L], t < mix_len; segment s takes the next len_s of the clip;
//     speech: K distinct other rows chosen by a partial Fisher-Yates shuffle of the other rows
//       (K draws); segment s uses speaker c (c = 0, 1, ...; after the last, c ~ U{0..K-1}
//       drawn again): when len_s > n_j the speaker's clean audio tiled from 0, else start
//       a ~ U{0..n_j-len_s-1} (0 when n_j == len_s) and audio_j[a, a+len_s);
//   placement: lo = 0, hi = n_i - mix_len; per segment start = lo, or lo + U{0..hi-lo-1} when
//     lo < hi; then lo = start + len_s, hi += len_s; the segments' signal e is zero elsewhere;
//   scale s = sqrt(E_a / (10^(rho/10) * E_e)), E = mean of squares over the n_i valid samples
//     (E_e thus includes the zeros around the segments), s = 0 when E_e == 0;
//   noisy_i = audio_i + s * e (length n_i).
// Uniform draws use the generator's raw 64-bit outputs (not std:: distributions, whose outputs
// differ between standard libraries): U[0,1) = (x >> 11) * 2^-53, U{0..m-1} = floor(U[0,1)*m),
// binomials by counting m Bernoulli draws (segments > 1 only).
//
// Difference from NeMo: NeMo leaves an unselected utterance with whatever noise its dataset
// attached; with a noise manifest that is the raw sampled noise, unscaled, with the noise's
// length as the noisy length. Here unselected utterances stay clean (docs/ssl.md).

#include <cstdint>
#include <random>
#include <vector>

namespace trellis {

class AudioPool;

struct SpeechNoiseMixOptions {
  double prob = 0.5;         // NeMo prob: share of utterances mixed
  double noise_ratio = 0.5;  // NeMo noise_ratio: share of mixed utterances in noise mode
  double min_r_speech = -5, max_r_speech = 5;  // energy ratio (dB) for speech mode
  double min_r_noise = -5, max_r_noise = 20;   // energy ratio (dB) for noise mode
  double min_mix_rate = 0.5, max_mix_rate = 0.5;
  int64_t min_num_segments = 1, max_num_segments = 1;
  int64_t min_num_speakers = 1, max_num_speakers = 1;
  // ConfigError naming the flag (--mix-prob, --noise-ratio, --min-r-speech, ...).
  void validate() const;
};

// One interfering segment of an utterance.
struct MixSegment {
  int64_t start = 0;   // first sample in the utterance
  int64_t length = 0;  // samples
  int64_t source = -1;         // speech: the other row; noise: -1
  int64_t source_offset = 0;   // speech: start in that row; noise: offset in the clip
};

// What the mixing did to one utterance.
struct UtteranceMix {
  bool selected = false;
  bool noise_mode = false;
  int64_t mix_len = 0;
  double ratio_db = 0;        // rho
  double scale = 0;           // s (0: nothing added)
  int64_t noise_file = -1;    // noise mode: index in the pool (-1: no pool)
  int64_t noise_offset = 0;   // noise mode: o
  std::vector<MixSegment> segments;
};

// audio: B utterances, each its valid samples (lengths may differ), at sample_rate; noise: the
// noise files (null or empty: noise mode adds nothing). -> noisy: B utterances of the same
// lengths; returns what was drawn per utterance. DataError from an unreadable noise file.
std::vector<UtteranceMix> mix_speech_noise(const std::vector<std::vector<float>>& audio,
                                           const SpeechNoiseMixOptions& options,
                                           const AudioPool* noise, int sample_rate,
                                           std::mt19937_64& rng,
                                           std::vector<std::vector<float>>& noisy);

// The draws used above, for other LibTorch-free code that wants the same portable streams.
double mix_uniform01(std::mt19937_64& rng);                 // U[0,1)
int64_t mix_uniform_int(std::mt19937_64& rng, int64_t m);   // U{0..m-1}, m >= 1

}  // namespace trellis
