// Audio reading: every container libsndfile decodes, zip byte ranges, mono downmix, soxr
// resampling (checked against the sox golden) and clear errors naming the file.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "core/io/safetensors.h"
#include "core/io/zip_archive.h"
#include "core/error.h"
#include "goldens.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("trellis_audio_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Writes a stereo file: left = 0.5 sin(2 pi f t), right = 0.25 sin(...).
void write_tone(const std::string& path, const std::string& format, int rate, double seconds,
                double freq) {
  size_t n = size_t(seconds * rate);
  std::vector<float> buf(2 * n);
  for (size_t i = 0; i < n; ++i) {
    float s = float(std::sin(2 * kPi * freq * double(i) / rate));
    buf[2 * i] = 0.5f * s;
    buf[2 * i + 1] = 0.25f * s;
  }
  write_audio_file(path, buf, 2, rate, format);
}

// Frequency estimate from zero crossings. x: (N,) float at `rate`
double zero_crossing_freq(const std::vector<float>& x, int rate) {
  size_t crossings = 0;
  for (size_t i = 1; i < x.size(); ++i) crossings += (x[i - 1] < 0) != (x[i] < 0);
  return double(crossings) / 2.0 / (double(x.size()) / rate);
}

double peak(const std::vector<float>& x, size_t from, size_t to) {
  double m = 0;
  for (size_t i = from; i < to && i < x.size(); ++i) m = std::max(m, double(std::fabs(x[i])));
  return m;
}

bool have_sox() { return std::system("sox --version >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("audio: every format at 48 kHz stereo decodes, mixes down and resamples",
          "[unit][audio]") {
  TempDir dir;
  const std::string src = dir / "tone.wav";
  write_tone(src, "wav", 48000, 1.0, 440.0);
  std::vector<std::pair<std::string, std::string>> files;  // (name, how it was made)
  if (have_sox()) {  // an independent encoder for the common containers
    for (const char* name : {"s16.wav", "f32.wav", "tone.flac", "tone.ogg"}) {
      std::string extra = std::string(name) == "f32.wav" ? "-e floating-point -b 32 " : "";
      std::string cmd = "sox " + src + " " + extra + (dir / name) + " 2>/dev/null";
      REQUIRE(std::system(cmd.c_str()) == 0);
      files.emplace_back(name, "sox");
    }
  } else {
    WARN("sox not found: encoding every format with libsndfile instead");
    write_tone(dir / "s16.wav", "wav", 48000, 1.0, 440.0);
    write_tone(dir / "f32.wav", "wav_float", 48000, 1.0, 440.0);
    write_tone(dir / "tone.flac", "flac", 48000, 1.0, 440.0);
    write_tone(dir / "tone.ogg", "ogg", 48000, 1.0, 440.0);
    for (const char* name : {"s16.wav", "f32.wav", "tone.flac", "tone.ogg"}) {
      files.emplace_back(name, "libsndfile");
    }
  }
  // sox has no mp3 encoder here; libsndfile 1.2 writes mp3 through LAME.
  write_tone(dir / "tone.mp3", "mp3", 48000, 1.0, 440.0);
  files.emplace_back("tone.mp3", "libsndfile");

  for (const auto& [name, how] : files) {
    INFO(name << " (written by " << how << ")");
    Audio orig = read_audio(dir / name, 0);
    CHECK(orig.sample_rate == 48000);
    CHECK(orig.samples.size() == 48000);
    // mono = (0.5 + 0.25) / 2 = 0.375 amplitude
    CHECK(peak(orig.samples, 4800, 43200) == Approx(0.375).margin(0.02));
    Audio a = read_audio(dir / name, 16000);
    CHECK(a.sample_rate == 16000);
    CHECK(a.samples.size() == 16000);
    CHECK(zero_crossing_freq(a.samples, 16000) == Approx(440.0).margin(3.0));
    CHECK(peak(a.samples, 1600, 14400) == Approx(0.375).margin(0.02));
  }
}

TEST_CASE("audio: zip byte ranges are decoded from memory", "[unit][audio][zip]") {
  TempDir dir;
  write_tone(dir / "a.flac", "flac", 16000, 0.5, 300.0);
  write_tone(dir / "b.wav", "wav", 16000, 0.25, 1000.0);
  write_tone(dir / "c.ogg", "ogg", 16000, 0.25, 500.0);
  write_tone(dir / "d.mp3", "mp3", 16000, 0.5, 500.0);
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::vector<uint8_t>{std::istreambuf_iterator<char>(in), {}};
  };
  std::vector<ZipEntry> entries;
  {
    ZipWriter w(dir / "audio.zip");
    for (const char* n : {"a.flac", "b.wav", "c.ogg", "d.mp3"})
      entries.push_back(w.add(n, bytes(dir / n)));
  }
  const size_t expect_len[] = {8000, 4000, 4000, 8000};
  const double expect_freq[] = {300, 1000, 500, 500};
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string spec =
        fmt::format("{}:{}:{}", dir / "audio.zip", entries[i].offset, entries[i].size);
    INFO(spec);
    Audio a = read_audio(spec, 16000);
    CHECK(a.samples.size() == expect_len[i]);
    CHECK(zero_crossing_freq(a.samples, 16000) == Approx(expect_freq[i]).margin(5.0));
    Audio direct = read_audio(dir / entries[i].name, 16000);
    CHECK(direct.samples == a.samples);
  }
  AudioSpec s = parse_audio_spec("/x/fbank80.zip:123:456");
  CHECK(s.is_range);
  CHECK(s.path == "/x/fbank80.zip");
  CHECK(s.offset == 123);
  CHECK(s.length == 456);
  CHECK_FALSE(parse_audio_spec("/x/a:1:2.wav").is_range);
  CHECK_THROWS_WITH(read_audio(dir / "audio.zip:1:99999999"),
                    Catch::Contains("audio.zip") && Catch::Contains("outside"));
  // A range that does not start at an entry's data is not audio.
  CHECK_THROWS_WITH(read_audio(fmt::format("{}:{}:{}", dir / "audio.zip", 3, 100)),
                    Catch::Contains("audio.zip:3:100"));
  CHECK_THROWS_WITH(read_audio(dir / "audio.zip:12"), Catch::Contains("invalid audio path"));
}

TEST_CASE("audio: bad input throws DataError naming the file", "[unit][audio]") {
  TempDir dir;
  write_tone(dir / "ok.wav", "wav", 16000, 1.0, 440.0);
  write_tone(dir / "ok.flac", "flac", 16000, 1.0, 440.0);
  write_tone(dir / "ok.ogg", "ogg", 16000, 1.0, 440.0);
  auto truncate_copy = [&](const std::string& from, const std::string& to, size_t keep) {
    std::ifstream in(dir / from, std::ios::binary);
    std::vector<char> b{std::istreambuf_iterator<char>(in), {}};
    std::ofstream(dir / to, std::ios::binary)
        .write(b.data(), std::streamsize(std::min(keep, b.size())));
  };
  truncate_copy("ok.wav", "short.wav", 20000);
  truncate_copy("ok.flac", "short.flac", 3000);
  truncate_copy("ok.ogg", "short.ogg", 2000);
  truncate_copy("ok.wav", "header_only.wav", 44);
  std::ofstream(dir / "empty.wav").close();
  std::ofstream(dir / "junk.flac") << "this is not a flac file at all, just some text";
  for (const char* name : {"missing.wav", "short.wav", "short.flac", "short.ogg", "empty.wav",
                           "header_only.wav", "junk.flac"}) {
    INFO(name);
    CHECK_THROWS_AS(read_audio(dir / name), DataError);
    CHECK_THROWS_WITH(read_audio(dir / name), Catch::Contains(dir / name));
  }
  std::vector<uint8_t> none;
  CHECK_THROWS_WITH(decode_audio_bytes(none.data(), 0, 16000, "blob"), Catch::Contains("blob"));
}

TEST_CASE("audio: soxr resampling matches sox's 48k->16k golden", "[unit][audio][resample]") {
  auto files = trellis::testing::golden_files("fbank");
  REQUIRE_FALSE(files.empty());
  for (const auto& path : files) {
    SafeTensorsFile st(path);
    if (!st.contains("resample.pcm_int16_orig")) continue;
    INFO(path);
    const auto meta = st.meta("resample");
    std::vector<float> x = st.get("resample.pcm_int16_orig").to_float();
    for (float& v : x) v /= 32768.0f;
    std::vector<float> ref = st.get("resample.waveform_16k_sox").to_float();
    int rate = meta.find("44100") != std::string::npos ? 44100 : 48000;
    std::vector<float> y = resample(x, rate, 16000);
    CHECK(y.size() == ref.size());
    double sig = 0, err = 0;
    for (size_t i = 0; i < std::min(y.size(), ref.size()); ++i) {
      sig += double(ref[i]) * ref[i];
      err += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
    }
    double snr = 10 * std::log10(sig / std::max(err, 1e-30));
    INFO("SNR vs sox: " << snr << " dB");
    CHECK(snr > 30.0);
  }
}

TEST_CASE("audio: standardize is layer_norm over the utterance", "[unit][audio]") {
  std::vector<float> x = {1, 2, 3, 4};
  standardize(x);
  // mean 2.5, var 1.25 -> (x - 2.5) / sqrt(1.25 + 1e-5)
  const double d = std::sqrt(1.25 + 1e-5);
  CHECK(x[0] == Approx(-1.5 / d).margin(1e-6));
  CHECK(x[3] == Approx(1.5 / d).margin(1e-6));
}
