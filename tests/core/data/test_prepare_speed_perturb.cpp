// prepare --speed-perturb (Kaldi/ESPnet offline speed perturbation of the training splits) and
// change_speed (core/data/speed_resample.h).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "core/data/manifest.h"
#include "core/data/prepare.h"
#include "core/data/speed_resample.h"
#include "core/error.h"
#include "core/io/npy.h"
#include "core/io/zip_archive.h"
#include "skip.h"

using namespace trellis;
namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;

fs::path fresh_dir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("trellis_prep_sp_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<float> sine(double hz, double seconds, int rate = 16000) {
  std::vector<float> x(static_cast<size_t>(std::llround(seconds * rate)));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = float(0.5 * std::sin(2 * kPi * hz * double(i) / rate));
  return x;
}

// Frequency from the rising zero crossings (first and last), ignoring the edges' soxr ramp.
double zero_crossing_hz(const std::vector<float>& x, int rate) {
  const size_t skip = x.size() / 20;
  std::vector<size_t> ups;
  for (size_t i = skip + 1; i + skip < x.size(); ++i)
    if (x[i - 1] < 0 && x[i] >= 0) ups.push_back(i);
  REQUIRE(ups.size() >= 2);
  return double(ups.size() - 1) * rate / double(ups.back() - ups.front());
}

struct Corpus {
  fs::path train_tsv, dev_tsv;
  std::map<std::string, double> hz;  // id -> sine frequency
};

// Sine-wave "utterances" (no espeak-ng needed): 3 for train, 2 for dev, 16 kHz 16-bit wav.
Corpus make_sine_corpus(const fs::path& d) {
  Corpus c;
  const char* texts[] = {"one", "two words", "three little words", "dev one", "dev two"};
  std::string train = "id\taudio\ttgt_text\tspeaker\n", dev = train;
  for (int i = 0; i < 5; ++i) {
    std::string id = fmt::format("s{}", i + 1);
    double hz = 300.0 + 110.0 * i;
    double seconds = 1.0 + 0.25 * i;
    fs::path wav = d / (id + ".wav");
    write_audio_file(wav.string(), sine(hz, seconds), 1, 16000, "wav");
    c.hz[id] = hz;
    (i < 3 ? train : dev) += fmt::format("{}\t{}\t{}\tspk{}\n", id, wav.string(), texts[i], i % 2);
  }
  c.train_tsv = d / "train_in.tsv";
  c.dev_tsv = d / "dev_in.tsv";
  std::ofstream(c.train_tsv) << train;
  std::ofstream(c.dev_tsv) << dev;
  return c;
}

PrepareOptions options_for(const Corpus& c, const fs::path& out, const std::string& features) {
  PrepareOptions o;
  o.input_format = "tsv";
  o.inputs = {c.train_tsv.string(), c.dev_tsv.string()};
  o.output_dir = out.string();
  o.splits = "train,dev";
  o.vocab_type = "char";
  o.features = features;
  o.cmvn = features == "raw" ? "none" : "global";
  o.progress = false;
  return o;
}

std::string run(const std::string& cmd, int* code) {
  std::string out_file =
      (fs::temp_directory_path() / ("trellis_prep_sp_cmd_" + std::to_string(::getpid()))).string();
  *code = std::system((cmd + " > " + out_file + " 2>&1").c_str());
  return slurp(out_file);
}

}  // namespace

TEST_CASE("change_speed: sox speed, pitch and tempo together", "[unit][prepare]") {
  const std::vector<float> x = sine(440, 1.0);
  CHECK(change_speed(x, 16000, 1.0) == x);
  for (double f : {0.9, 1.1, 0.5, 2.0}) {
    INFO("factor " << f);
    std::vector<float> y = change_speed(x, 16000, f);
    CHECK(y.size() == size_t(std::llround(16000 / f)));  // tempo: duration / factor
    CHECK(zero_crossing_hz(y, 16000) == Approx(440 * f).epsilon(0.002));  // pitch x factor
    // Band-limited, no gain change: the amplitude stays 0.5 away from the edges.
    float peak = 0;
    for (size_t i = y.size() / 10; i < y.size() * 9 / 10; ++i)
      peak = std::max(peak, std::abs(y[i]));
    CHECK(peak == Approx(0.5).epsilon(0.01));
    CHECK(change_speed(x, 16000, f) == y);  // deterministic
  }
  CHECK(change_speed({}, 16000, 0.9).empty());
  CHECK_THROWS_AS(change_speed(x, 16000, 0.0), DataError);
  CHECK_THROWS_AS(change_speed(x, 16000, -1.0), DataError);
  CHECK_THROWS_AS(change_speed(x, 16000, std::nan("")), DataError);
  CHECK_THROWS_AS(change_speed(x, 0, 1.1), DataError);
}

TEST_CASE("prepare --speed-perturb: raw audio copies of the training split only",
          "[integration][prepare]") {
  fs::path d = fresh_dir("raw");
  Corpus c = make_sine_corpus(d);
  PrepareOptions o = options_for(c, d / "plain", "raw");
  run_prepare(o);
  o.output_dir = (d / "out").string();
  o.speed_perturb = {0.9, 1.0, 1.1};
  PrepareSummary s = run_prepare(o);
  CHECK(s.rows == std::vector<int64_t>{9, 2});
  CHECK(s.speed_perturbed == 6);
  Manifest train = read_tsv_manifest((d / "out" / "train.tsv").string());
  Manifest dev = read_tsv_manifest((d / "out" / "dev.tsv").string());
  Manifest plain = read_tsv_manifest((d / "plain" / "train.tsv").string());
  REQUIRE(train.rows.size() == 9);
  REQUIRE(plain.rows.size() == 3);
  // Per utterance: sp0.9-X, X, sp1.1-X; dev untouched.
  for (size_t k = 0; k < 3; ++k) {
    const ManifestRow& orig = plain.rows[k];
    const ManifestRow* r = &train.rows[3 * k];
    CHECK(r[0].id == "sp0.9-" + orig.id);
    CHECK(r[1].id == orig.id);
    CHECK(r[2].id == "sp1.1-" + orig.id);
    CHECK(r[1].audio == orig.audio);
    CHECK(r[1].n_frames == orig.n_frames);
    const double hz = c.hz.at(orig.id);
    Audio a = read_audio(orig.audio, 0);
    CHECK(zero_crossing_hz(a.samples, 16000) == Approx(hz).epsilon(0.002));
    for (int j : {0, 2}) {
      const double f = j == 0 ? 0.9 : 1.1;
      INFO(r[j].id);
      CHECK(r[j].tgt_text == orig.tgt_text);
      CHECK(r[j].speaker == orig.speaker);
      CHECK(fs::path(r[j].audio).parent_path() == d / "out" / "speed_perturb");
      CHECK(r[j].n_frames == std::llround(double(orig.n_frames) / f));  // samples
      Audio p = read_audio(r[j].audio, 0);
      CHECK(p.sample_rate == 16000);
      CHECK(int64_t(p.samples.size()) == r[j].n_frames);
      CHECK(zero_crossing_hz(p.samples, 16000) == Approx(hz * f).epsilon(0.002));
    }
  }
  REQUIRE(dev.rows.size() == 2);
  for (const auto& r : dev.rows) CHECK(r.id.rfind("sp", 0) != 0);
  // The vocabulary comes from the original transcripts: the same file as without perturbation.
  CHECK(slurp(d / "out" / "dict.txt") == slurp(d / "plain" / "dict.txt"));
  // Deterministic: a second run writes the same perturbed audio.
  const std::string first = slurp(train.rows[0].audio);
  o.num_workers = 3;
  run_prepare(o);
  CHECK(slurp(train.rows[0].audio) == first);
}

TEST_CASE("prepare --speed-perturb: fbank n_frames follow the perturbed audio",
          "[integration][prepare]") {
  fs::path d = fresh_dir("fbank");
  Corpus c = make_sine_corpus(d);
  PrepareOptions o = options_for(c, d / "out", "fbank80");
  o.speed_perturb = {1.1, 0.9};  // any order; 1.0 omitted: the original is kept anyway
  o.num_workers = 2;
  PrepareSummary s = run_prepare(o);
  CHECK(s.rows == std::vector<int64_t>{9, 2});
  Manifest train = read_tsv_manifest((d / "out" / "train.tsv").string());
  REQUIRE(train.rows.size() == 9);
  for (size_t k = 0; k < 3; ++k) {
    const ManifestRow* r = &train.rows[3 * k];
    const std::string id = r[1].id;
    CHECK(r[0].id == "sp0.9-" + id);
    CHECK(r[2].id == "sp1.1-" + id);
    CHECK(std::abs(double(r[0].n_frames) - double(r[1].n_frames) / 0.9) <= 1.5);
    CHECK(std::abs(double(r[2].n_frames) - double(r[1].n_frames) / 1.1) <= 1.5);
    for (int j = 0; j < 3; ++j) {
      AudioRef ref = parse_audio_field(r[j].audio);
      REQUIRE(ref.kind == AudioRef::Kind::kByteRange);
      auto bytes = read_byte_range(ref.path, ref.offset, ref.length);
      NpyArray a = decode_npy(bytes.data(), bytes.size(), r[j].audio);
      REQUIRE(a.shape.size() == 2);
      CHECK(a.shape[0] == r[j].n_frames);
      CHECK(a.shape[1] == 80);
      CHECK(r[j].tgt_text == r[1].tgt_text);
      CHECK(r[j].speaker == r[1].speaker);
    }
  }
  Manifest dev = read_tsv_manifest((d / "out" / "dev.tsv").string());
  REQUIRE(dev.rows.size() == 2);
  for (const auto& r : dev.rows) CHECK(r.id.rfind("sp", 0) != 0);
  CHECK(fs::exists(d / "out" / "gcmvn.npz"));
  CHECK_FALSE(fs::exists(d / "out" / "speed_perturb"));  // fbank: everything is in the zip
}

TEST_CASE("prepare --speed-perturb: the copies match sox speed", "[integration][prepare]") {
  if (std::system("sox --version > /dev/null 2>&1") != 0)
    trellis::testing::skip_test("sox not installed");
  fs::path d = fresh_dir("sox");
  Corpus c = make_sine_corpus(d);
  PrepareOptions o = options_for(c, d / "out", "raw");
  o.speed_perturb = {0.9, 1.1};
  run_prepare(o);
  Manifest train = read_tsv_manifest((d / "out" / "train.tsv").string());
  int compared = 0;
  for (const auto& r : train.rows) {
    if (r.id.rfind("sp", 0) != 0) continue;
    const std::string orig = r.id.substr(r.id.find('-') + 1);
    const std::string factor = r.id.substr(2, r.id.find('-') - 2);
    fs::path ref = d / (r.id + ".sox.wav");
    int code = 0;
    std::string log = run(
        fmt::format("sox '{}' '{}' speed {}", (d / (orig + ".wav")).string(), ref.string(), factor),
        &code);
    INFO(r.id << ": " << log);
    REQUIRE(code == 0);
    Audio want = read_audio(ref.string(), 0);
    Audio got = read_audio(r.audio, 0);
    CHECK(got.samples.size() == want.samples.size());
    const size_t n = std::min(got.samples.size(), want.samples.size());
    float worst = 0;  // away from the edges, where the two resamplers' delay handling differs
    for (size_t i = n / 10; i < n * 9 / 10; ++i)
      worst = std::max(worst, std::abs(got.samples[i] - want.samples[i]));
    CHECK(worst <= 4.0f / 32768);  // a few 16-bit steps
    ++compared;
  }
  CHECK(compared == 6);
}

TEST_CASE("prepare --speed-perturb: a NeMo segment is cut, then perturbed",
          "[integration][prepare]") {
  fs::path d = fresh_dir("nemo");
  write_audio_file((d / "long.wav").string(), sine(500, 2.0), 1, 16000, "wav");
  std::ofstream(d / "m.json") << fmt::format(
      "{{\"audio_filepath\": \"{}\", \"offset\": 0.5, \"duration\": 1.0, \"text\": \"a b\"}}\n",
      (d / "long.wav").string());
  PrepareOptions o;
  o.input_format = "nemo";
  o.inputs = {(d / "m.json").string()};
  o.output_dir = (d / "out").string();
  o.splits = "train:1";
  o.vocab_type = "char";
  o.features = "raw";
  o.cmvn = "none";
  o.progress = false;
  o.speed_perturb = {0.9, 1.1};
  run_prepare(o);
  Manifest m = read_tsv_manifest((d / "out" / "train.tsv").string());
  REQUIRE(m.rows.size() == 3);
  CHECK(m.rows[1].id == "long_500");
  CHECK(m.rows[1].n_frames == 16000);  // the segment, stored in audio.zip
  CHECK(parse_audio_field(m.rows[1].audio).kind == AudioRef::Kind::kByteRange);
  CHECK(m.rows[0].id == "sp0.9-long_500");
  CHECK(m.rows[0].n_frames == 17778);  // round(16000 / 0.9): the segment's length, perturbed
  CHECK(m.rows[2].n_frames == 14545);
  Audio p = read_audio(m.rows[2].audio, 0);
  CHECK(zero_crossing_hz(p.samples, 16000) == Approx(550).epsilon(0.002));
}

TEST_CASE("prepare --speed-perturb: a bad factor names the flag", "[unit][prepare]") {
  PrepareOptions o;
  o.inputs = {"unused.tsv"};
  o.output_dir = "unused";
  for (std::vector<double> bad :
       {std::vector<double>{0.0}, {-1.0}, {0.9, 1.0, 0.9}, {std::nan("")}}) {
    o.speed_perturb = bad;
    CHECK_THROWS_WITH(o.validate(), Catch::Contains("--speed-perturb"));
    CHECK_THROWS_AS(run_prepare(o), ConfigError);
  }
  o.speed_perturb = {0.9, 1.0, 1.1};
  CHECK_NOTHROW(o.validate());

  // The command line: "x" is not a number, 0 and -1 are not > 0.
  const std::string exe = std::string(TRELLIS_BINARY_DIR) + "/bin/prepare";
  fs::path d = fresh_dir("cli");
  for (std::string bad : {"x", "0", "-1", "0.9,x"}) {
    int code = 0;
    std::string log = run(fmt::format("{} --input-format tsv --input {} --output-dir {} "
                                      "--speed-perturb={} --no-progress",
                                      exe, (d / "none.tsv").string(), (d / "out").string(), bad),
                          &code);
    INFO(bad << ": " << log);
    CHECK(code != 0);
    CHECK_THAT(log, Catch::Contains("--speed-perturb"));
  }
  int code = 0;
  std::string help = run(exe + " --help", &code);
  CHECK(code == 0);
  CHECK_THAT(help, Catch::Contains("--speed-perturb"));
  CHECK_THAT(help, Catch::Contains("training splits only"));
}
