#include "core/data/audio_writer.h"

#include <sndfile.h>

#include <cstring>
#include <fstream>

#include "core/error.h"

namespace trellis {
namespace {

int sndfile_format(const std::string& format, const std::string& where) {
  if (format == "wav") return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  if (format == "wav_float") return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  if (format == "flac") return SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  if (format == "ogg") return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
  if (format == "mp3") return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  throw DataError(
      fmt::format("{}: unknown audio format '{}' (wav, wav_float, flac, ogg, mp3)", where, format));
}

void write_all(SNDFILE* f, const std::vector<float>& samples, int channels,
               const std::string& where) {
  sf_count_t frames = sf_count_t(samples.size() / size_t(channels));
  sf_count_t done = sf_writef_float(f, samples.data(), frames);
  std::string err = done == frames ? "" : sf_strerror(f);
  sf_close(f);
  if (!err.empty()) throw DataError(fmt::format("{}: audio write error: {}", where, err));
}

}  // namespace

void write_audio_file(const std::string& path, const std::vector<float>& samples, int channels,
                      int sample_rate, const std::string& format) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = channels;
  info.format = sndfile_format(format, path);
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) throw DataError(fmt::format("{}: cannot write audio: {}", path, sf_strerror(nullptr)));
  write_all(f, samples, channels, path);
}

namespace {
struct MemOut {
  std::vector<uint8_t> bytes;
  sf_count_t pos = 0;
};
sf_count_t out_len(void* u) { return sf_count_t(static_cast<MemOut*>(u)->bytes.size()); }
sf_count_t out_seek(sf_count_t off, int whence, void* u) {
  auto* m = static_cast<MemOut*>(u);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : out_len(u);
  if (base + off < 0) return -1;
  m->pos = base + off;
  return m->pos;
}
sf_count_t out_read(void* dst, sf_count_t n, void* u) {
  auto* m = static_cast<MemOut*>(u);
  n = std::max<sf_count_t>(0, std::min(n, out_len(u) - m->pos));
  std::memcpy(dst, m->bytes.data() + m->pos, size_t(n));
  m->pos += n;
  return n;
}
sf_count_t out_write(const void* src, sf_count_t n, void* u) {
  auto* m = static_cast<MemOut*>(u);
  if (size_t(m->pos + n) > m->bytes.size()) m->bytes.resize(size_t(m->pos + n));
  std::memcpy(m->bytes.data() + m->pos, src, size_t(n));
  m->pos += n;
  return n;
}
sf_count_t out_tell(void* u) { return static_cast<MemOut*>(u)->pos; }
}  // namespace

std::vector<uint8_t> encode_audio(const std::vector<float>& samples, int channels, int sample_rate,
                                  const std::string& format) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = channels;
  info.format = sndfile_format(format, "encode_audio");
  MemOut m;
  SF_VIRTUAL_IO io{out_len, out_seek, out_read, out_write, out_tell};
  SNDFILE* f = sf_open_virtual(&io, SFM_WRITE, &info, &m);
  if (!f) throw DataError(fmt::format("encode_audio({}): {}", format, sf_strerror(nullptr)));
  write_all(f, samples, channels, "encode_audio(" + format + ")");
  return std::move(m.bytes);
}

}  // namespace trellis
