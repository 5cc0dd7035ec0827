#pragma once
// Audio input: wav / flac / ogg / mp3 through libsndfile, from a path or from fairseq's
// `archive.zip:OFFSET:LENGTH` byte range; downmix to mono (channel average), resampling with soxr
// (high quality) and wav2vec2-style per-utterance standardisation.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct Audio {
  std::vector<float> samples;  // (N,) mono float32 in [-1, 1] (PCM / 2^(bits-1), as soundfile)
  int sample_rate = 0;
};

// A spec is a file path, or `path:OFFSET:LENGTH` (a byte range of a stored zip). A path ending
// in a known audio/.npy extension is never split on ':' (fairseq's rule).
struct AudioSpec {
  std::string path;
  bool is_range = false;
  uint64_t offset = 0, length = 0;
};
// Throws DataError for a trailing ':'-field count other than 0 or 2 integers.
AudioSpec parse_audio_spec(const std::string& spec);

// Reads `spec`, mixes down to mono and resamples to `target_sample_rate` (0 keeps the file's
// rate). Missing, empty, truncated or undecodable input throws DataError naming `spec`.
// -> samples (N,) float at the target rate
Audio read_audio(const std::string& spec, int target_sample_rate = 16000);

// Decodes a complete audio file held in memory (format sniffed by libsndfile).
// data: the file's bytes -> (N,) mono float; DataError names `where`.
Audio decode_audio_bytes(const uint8_t* data, size_t size, int target_sample_rate,
                         const std::string& where);

// Band-limited resampling with soxr (SOXR_HQ). x: (N,) float -> (round(N * to / from),) float
std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate);
// The same for rates that need not be integers (speed perturbation: rate * factor -> rate).
std::vector<float> resample_hz(const std::vector<float>& x, double from_rate, double to_rate);

// In place: (x - mean) / sqrt(var + 1e-5) over the whole utterance, like fairseq's
// `F.layer_norm(wav, wav.shape)` (wav2vec2 `normalize: true`). x: (N,) float
void standardize(std::vector<float>& x);

}  // namespace trellis
