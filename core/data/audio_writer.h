#pragma once
// Writing audio files with libsndfile (prep tools storing flac/wav in zips; tests).

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

// Writes interleaved float samples in [-1, 1] as `format`: "wav" (16-bit PCM), "wav_float"
// (32-bit float), "flac" (16-bit), "ogg" (Vorbis) or "mp3" (LAME, libsndfile >= 1.1).
// samples: (N * channels,) float interleaved; DataError names the path on failure.
void write_audio_file(const std::string& path, const std::vector<float>& samples, int channels,
                      int sample_rate, const std::string& format);

// The same, into memory (e.g. to store in a zip). -> the encoded file's bytes
std::vector<uint8_t> encode_audio(const std::vector<float>& samples, int channels, int sample_rate,
                                  const std::string& format);

}  // namespace trellis
