#include "core/data/audio_reader.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "core/io/zip_archive.h"
#include "core/error.h"

namespace trellis {
namespace {

// libsndfile virtual I/O over a memory buffer.
struct MemFile {
  const uint8_t* data;
  sf_count_t size;
  sf_count_t pos;
};

sf_count_t mem_len(void* u) { return static_cast<MemFile*>(u)->size; }

sf_count_t mem_seek(sf_count_t off, int whence, void* u) {
  auto* m = static_cast<MemFile*>(u);
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
  sf_count_t p = base + off;
  if (p < 0 || p > m->size) return -1;
  m->pos = p;
  return p;
}

sf_count_t mem_read(void* dst, sf_count_t n, void* u) {
  auto* m = static_cast<MemFile*>(u);
  n = std::max<sf_count_t>(0, std::min(n, m->size - m->pos));
  std::memcpy(dst, m->data + m->pos, size_t(n));
  m->pos += n;
  return n;
}

sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* u) { return static_cast<MemFile*>(u)->pos; }

bool has_suffix(const std::string& s, const char* suf) {
  size_t n = std::strlen(suf);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suf[i]) return false;
  }
  return true;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads every frame of an open SNDFILE, mixes to mono. -> (N,) float
Audio decode_open(SNDFILE* f, const SF_INFO& info, const std::string& where) {
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> guard(f, sf_close);
  if (info.channels < 1 || info.samplerate <= 0) {
    throw DataError(fmt::format("{}: bad audio header ({} channels, {} Hz)", where, info.channels,
                                info.samplerate));
  }
  if (info.frames <= 0) throw DataError(fmt::format("{}: audio has no samples", where));
  // A header that promises more data than the file holds (wav/aiff: "data : N (should be M)") or
  // an ogg stream without its end: libsndfile clips or guesses and notes it in its log, where
  // soundfile would silently read a short file. We refuse it.
  char log[8192] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof(log) - 1);
  std::string text(log);
  for (size_t a = 0; a < text.size();) {
    size_t b = text.find('\n', a);
    if (b == std::string::npos) b = text.size();
    std::string line = text.substr(a, b - a);
    bool short_data = line.rfind("data", 0) == 0 && line.find("should be") != std::string::npos;
    if (short_data) {  // streaming writers put 0 or 0xffffffff / 0x7ffff000-ish there: not short
      unsigned long long claimed = std::strtoull(line.c_str() + line.find(':') + 1, nullptr, 10);
      short_data = claimed != 0 && claimed < 0x7ff00000ull;
    }
    if (short_data || line.find("ended unexpectedly") != std::string::npos) {
      throw DataError(fmt::format("{}: truncated audio file ({})", where, line));
    }
    a = b + 1;
  }
  const int ch = info.channels;
  std::vector<float> inter;
  const bool known_length = info.frames < (sf_count_t(1) << 40);  // ogg may say SF_COUNT_MAX
  if (known_length) {  // one read straight into place, then whatever follows a short header
    inter.resize(size_t(info.frames) * ch);
    inter.resize(size_t(std::max<sf_count_t>(0, sf_readf_float(f, inter.data(), info.frames))) *
                 ch);
  }
  std::vector<float> buf(size_t(4096) * ch);
  sf_count_t got;
  while ((got = sf_readf_float(f, buf.data(), 4096)) > 0) {
    inter.insert(inter.end(), buf.begin(), buf.begin() + got * ch);
  }
  if (sf_error(f) != SF_ERR_NO_ERROR) {
    throw DataError(fmt::format("{}: audio decode error: {}", where, sf_strerror(f)));
  }
  sf_count_t frames = sf_count_t(inter.size()) / ch;
  if (frames == 0) throw DataError(fmt::format("{}: audio has no samples", where));
  if (known_length && frames < info.frames) {
    throw DataError(
        fmt::format("{}: truncated audio ({} of {} frames decoded)", where, frames, info.frames));
  }
  Audio a;
  a.sample_rate = info.samplerate;
  if (ch == 1) {
    a.samples = std::move(inter);
  } else {
    a.samples.resize(size_t(frames));
    const float inv = 1.0f / float(ch);
    for (sf_count_t i = 0; i < frames; ++i) {
      float s = 0;
      for (int c = 0; c < ch; ++c) s += inter[size_t(i) * ch + c];
      a.samples[size_t(i)] = s * inv;
    }
  }
  return a;
}

void to_rate(Audio& a, int target) {
  if (target > 0 && a.sample_rate != target) {
    a.samples = resample(a.samples, a.sample_rate, target);
    a.sample_rate = target;
  }
}

}  // namespace

AudioSpec parse_audio_spec(const std::string& spec) {
  AudioSpec s;
  s.path = spec;
  for (const char* ext : {".wav", ".flac", ".ogg", ".mp3", ".npy", ".opus"}) {
    if (has_suffix(spec, ext)) return s;
  }
  size_t c2 = spec.rfind(':');
  if (c2 == std::string::npos) return s;
  size_t c1 = c2 == 0 ? std::string::npos : spec.rfind(':', c2 - 1);
  std::string last = spec.substr(c2 + 1);
  if (c1 != std::string::npos && all_digits(last) && all_digits(spec.substr(c1 + 1, c2 - c1 - 1))) {
    s.path = spec.substr(0, c1);
    s.is_range = true;
    try {  // all digits, but maybe beyond 2^64 (found by bench/fuzz: fuzz_audio)
      s.offset = std::stoull(spec.substr(c1 + 1, c2 - c1 - 1));
      s.length = std::stoull(last);
    } catch (const std::out_of_range&) {
      throw DataError(fmt::format("{}: byte offset or length out of range", spec));
    }
    return s;
  }
  std::error_code ec;  // a name too long for the file system is no file (found by fuzz_audio)
  if (all_digits(last) && !std::filesystem::exists(spec, ec)) {
    throw DataError(
        fmt::format("{}: invalid audio path (expected FILE or FILE:OFFSET:LENGTH)", spec));
  }
  return s;
}

Audio decode_audio_bytes(const uint8_t* data, size_t size, int target_sample_rate,
                         const std::string& where) {
  if (size == 0) throw DataError(fmt::format("{}: empty audio (0 bytes)", where));
  if (size >= 2 && data[0] == 0x93 && data[1] == 'N') {
    throw DataError(fmt::format("{}: holds a .npy array, not an audio file", where));
  }
  MemFile m{data, sf_count_t(size), 0};
  SF_VIRTUAL_IO io{mem_len, mem_seek, mem_read, mem_write, mem_tell};
  SF_INFO info{};
  SNDFILE* f = sf_open_virtual(&io, SFM_READ, &info, &m);
  if (!f) {
    throw DataError(fmt::format("{}: cannot decode audio: {}", where, sf_strerror(nullptr)));
  }
  Audio a = decode_open(f, info, where);
  to_rate(a, target_sample_rate);
  return a;
}

Audio read_audio(const std::string& spec, int target_sample_rate) {
  AudioSpec s = parse_audio_spec(spec);
  if (s.is_range) {
    std::vector<uint8_t> bytes = read_byte_range(s.path, s.offset, s.length);
    return decode_audio_bytes(bytes.data(), bytes.size(), target_sample_rate, spec);
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(s.path, ec)) {
    throw DataError(fmt::format("{}: audio file not found", spec));
  }
  if (std::filesystem::file_size(s.path, ec) == 0) {
    throw DataError(fmt::format("{}: empty audio file (0 bytes)", spec));
  }
  SF_INFO info{};
  SNDFILE* f = sf_open(s.path.c_str(), SFM_READ, &info);
  if (!f) throw DataError(fmt::format("{}: cannot decode audio: {}", spec, sf_strerror(nullptr)));
  Audio a = decode_open(f, info, spec);
  to_rate(a, target_sample_rate);
  return a;
}

std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate) {
  return resample_hz(x, from_rate, to_rate);
}

std::vector<float> resample_hz(const std::vector<float>& x, double from_rate, double to_rate) {
  TRELLIS_CHECK(from_rate > 0 && to_rate > 0, DataError, "resample: bad rates {} -> {}", from_rate,
                to_rate);
  if (from_rate == to_rate || x.empty()) return x;
  const double ratio = double(to_rate) / double(from_rate);
  std::vector<float> out(size_t(std::llround(double(x.size()) * ratio)));
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t err = nullptr;
  std::unique_ptr<soxr, void (*)(soxr_t)> r(soxr_create(from_rate, to_rate, 1, &err, &io, &q, &rt),
                                            soxr_delete);
  if (err) throw DataError(fmt::format("resample {} -> {} Hz: {}", from_rate, to_rate, err));
  size_t in_pos = 0, odone = 0, produced = 0;
  // Feed all input, then flush (in = NULL) until the expected length is reached.
  while (produced < out.size()) {
    size_t idone = 0;
    const bool flushing = in_pos >= x.size();
    err = soxr_process(r.get(), flushing ? nullptr : x.data() + in_pos, x.size() - in_pos, &idone,
                       out.data() + produced, out.size() - produced, &odone);
    if (err) throw DataError(fmt::format("resample {} -> {} Hz: {}", from_rate, to_rate, err));
    in_pos += idone;
    produced += odone;
    if (flushing && odone == 0) break;
  }
  out.resize(produced);
  return out;
}

void standardize(std::vector<float>& x) {
  if (x.empty()) return;
  double sum = 0, sq = 0;
  for (float v : x) sum += v;
  const double mean = sum / double(x.size());
  for (float v : x) sq += (v - mean) * (v - mean);
  const double inv = 1.0 / std::sqrt(sq / double(x.size()) + 1e-5);
  for (float& v : x) v = float((v - mean) * inv);
}

}  // namespace trellis
