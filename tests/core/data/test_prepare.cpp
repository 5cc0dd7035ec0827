#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/data/audio_reader.h"
#include "core/data/audio_writer.h"
#include "core/data/commonvoice.h"
#include "core/data/data_config.h"
#include "core/data/dictionary.h"
#include "core/data/fbank.h"
#include "core/data/manifest.h"
#include "core/data/nemo_manifest.h"
#include "core/io/npy.h"
#include "core/data/prepare.h"
#include "core/io/zip_archive.h"
#include "core/error.h"
#include "skip.h"

using namespace trellis;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("trellis_prep_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::string run(const std::string& cmd, int* code) {
  std::string out_file = (fs::temp_directory_path() / "trellis_prep_cmd.txt").string();
  *code = std::system((cmd + " > " + out_file + " 2>&1").c_str());
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kTexts[] = {"hello world",           "the quick brown fox", "speech recognition is fun",
                        "trellis prepares data", "one two three four",  "a small test corpus"};

// espeak-ng corpus: u1.wav..u6.wav + u1.txt..; returns false when espeak-ng is missing.
bool make_corpus(const fs::path& dir) {
  if (std::system("espeak-ng --version > /dev/null 2>&1") != 0) return false;
  for (int i = 0; i < 6; ++i) {
    fs::path wav = dir / fmt::format("u{}.wav", i + 1);
    std::string cmd = fmt::format("espeak-ng -w '{}' '{}'", wav.string(), kTexts[i]);
    REQUIRE(std::system(cmd.c_str()) == 0);
    write(dir / fmt::format("u{}.txt", i + 1), std::string(kTexts[i]) + "\n");
  }
  return true;
}

}  // namespace

TEST_CASE("nemo and common voice readers", "[unit][manifest]") {
  fs::path d = fresh_dir("readers");
  fs::create_directories(d / "clips");
  write(d / "clips" / "a.mp3", "x");
  write(d / "b.wav", "x");
  write(
      d / "m.json",
      "{\"audio_filepath\": \"b.wav\", \"duration\": 1.5, \"text\": \"hi there\"}\n\n"
      "{\"audio_filepath\": \"/abs/c.wav\", \"offset\": 2.0, \"duration\": 1, \"text\": \"x\"}\n");
  auto n = read_nemo_manifest((d / "m.json").string());
  REQUIRE(n.size() == 2);
  CHECK(n[0].audio_filepath == (d / "b.wav").string());
  CHECK(n[0].duration == 1.5);
  CHECK(n[1].offset == 2.0);
  CHECK(n[1].line == 3);
  write(d / "bad.json", "{\"audio_filepath\": \"b.wav\"}\n{oops\n");
  CHECK_THROWS_WITH(read_nemo_manifest((d / "bad.json").string()),
                    Catch::Contains("bad.json:2: malformed JSON"));

  write(d / "train.tsv", "client_id\tpath\tsentence\tup_votes\nspk1\ta.mp3\tHello \"you\"\t2\n");
  auto cv = read_audio_text_table((d / "train.tsv").string());
  REQUIRE(cv.size() == 1);
  CHECK(cv[0].audio == (d / "clips" / "a.mp3").string());
  CHECK(cv[0].text == "Hello \"you\"");
  CHECK(cv[0].speaker == "spk1");
  CHECK(cv[0].id == "a");
  write(d / "k.csv", "file,text\na,\"hi, there \"\"x\"\"\"\nb.wav,plain\n");
  auto csv = read_audio_text_table((d / "k.csv").string());
  REQUIRE(csv.size() == 2);
  CHECK(csv[0].audio == (d / "clips" / "a.mp3").string());  // missing .mp3 suffix found
  CHECK(csv[0].text == "hi, there \"x\"");
  CHECK(csv[1].audio == (d / "b.wav").string());
  write(d / "bad.csv", "file,text\na,\"open\n");
  CHECK_THROWS_WITH(read_audio_text_table((d / "bad.csv").string()),
                    Catch::Contains("bad.csv:2: unterminated"));
  write(d / "nocol.csv", "file,label\na,b\n");
  CHECK_THROWS_WITH(read_audio_text_table((d / "nocol.csv").string()),
                    Catch::Contains("nocol.csv:1: header needs"));
}

TEST_CASE("prepare: espeak-ng corpus end to end", "[integration][prepare]") {
  fs::path d = fresh_dir("e2e");
  fs::create_directories(d / "corpus");
  if (!make_corpus(d / "corpus")) {
    trellis::testing::skip_test("espeak-ng not installed");
  }
  const std::string exe = std::string(TRELLIS_BINARY_DIR) + "/bin/prepare";
  int code = 0;
  std::string log = run(fmt::format("{} --input-format dir --input {} --output-dir {} --splits "
                                    "train,dev --vocab-type unigram --vocab-size 40 --cmvn global "
                                    "--src-text-from tgt --num-workers 2 --tgt-lang en "
                                    "--prepend-tgt-lang-tag --no-progress",
                                    exe, (d / "corpus").string(), (d / "out").string()),
                        &code);
  // one split per input needs two inputs: expect a ConfigError (exit 2)
  CHECK(code != 0);
  CHECK_THAT(log, Catch::Contains("one split per input"));

  log = run(fmt::format("{} --input-format dir --input {} --output-dir {} --splits "
                        "train:0.67,dev:0.33 --vocab-type unigram --vocab-size 40 --cmvn global "
                        "--src-text-from tgt --num-workers 2 --tgt-lang en --prepend-tgt-lang-tag",
                        exe, (d / "corpus").string(), (d / "out").string()),
            &code);
  INFO(log);
  REQUIRE(code == 0);
  fs::path out = d / "out";
  Manifest train = read_tsv_manifest((out / "train.tsv").string());
  Manifest dev = read_tsv_manifest((out / "dev.tsv").string());
  CHECK(train.rows.size() == 4);
  CHECK(dev.rows.size() == 2);
  CHECK(train.has_column("src_text"));
  CHECK(train.has_column("tgt_lang"));
  for (const auto& r : train.rows) {
    int k = std::stoi(r.id.substr(1)) - 1;
    CHECK(r.tgt_text == kTexts[k]);
    CHECK(r.src_text == r.tgt_text);
    CHECK(r.tgt_lang == "en");
    // n_frames == fbank frame count of the stored entry == fbank of the source audio.
    AudioRef ref = parse_audio_field(r.audio);
    REQUIRE(ref.kind == AudioRef::Kind::kByteRange);
    auto bytes = read_byte_range(ref.path, ref.offset, ref.length);
    NpyArray a = decode_npy(bytes.data(), bytes.size(), r.audio);
    REQUIRE(a.shape.size() == 2);
    CHECK(a.shape[0] == r.n_frames);
    CHECK(a.shape[1] == 80);
    int64_t t = 0;
    auto feats =
        compute_fbank_features(read_audio((d / "corpus" / (r.id + ".wav")).string()), 80, &t);
    CHECK(t == r.n_frames);
    // The same features, bit for bit.
    REQUIRE(feats.size() == a.data.size());
    float worst = 0;
    for (size_t i = 0; i < feats.size(); ++i)
      worst = std::max(worst, std::abs(feats[i] - a.data[i]) / (1.0f + std::abs(a.data[i])));
    CHECK(worst == 0.0f);  // deterministic: FFTW plans are made with FFTW_ESTIMATE
  }
  DataConfig cfg = DataConfig::load((out / "config.yaml").string());
  CHECK(cfg.vocab_filename == "spm_unigram40.txt");
  CHECK(cfg.vocab_filename_src == "spm_unigram40.txt");
  CHECK(cfg.bpe_tokenizer.sentencepiece_model == (out / "spm_unigram40.model").string());
  CHECK(cfg.bpe_tokenizer_src.bpe == "sentencepiece");
  CHECK(cfg.prepend_tgt_lang_tag);
  CHECK(cfg.transforms_for_split("train", true) ==
        std::vector<std::string>{"global_cmvn", "specaugment"});
  CHECK(cfg.transform_params("global_cmvn")["stats_npz_path"].as<std::string>() ==
        (out / "gcmvn.npz").string());
  auto npz = read_npz((out / "gcmvn.npz").string());
  CHECK(npz.at("mean").data.size() == 80);
  CHECK(npz.at("std").data.size() == 80);
  Dictionary dict = Dictionary::load((out / "spm_unigram40.txt").string());
  CHECK(dict.contains("<lang:en>"));

  // fairseq's reader logic in Python (only where Debian's python3 has torch/numpy).
  if (std::system("/usr/bin/python3 -c 'import torch, numpy' > /dev/null 2>&1") != 0) {
    trellis::testing::skip_test(
        "/usr/bin/python3 without torch/numpy (Debian's python3-torch): the Python layout "
        "check did not run");
  }
  std::string py =
      run(fmt::format("/usr/bin/python3 {}/tests/golden/check_prepare_layout.py {} train",
                      TRELLIS_SOURCE_DIR, out.string()),
          &code);
  INFO(py);
  CHECK(code == 0);
  for (const auto& r : train.rows)
    CHECK_THAT(py, Catch::Contains(fmt::format("{} {} {} 80", r.id, r.n_frames, r.n_frames)));
  CHECK_THAT(py, Catch::Contains("gcmvn 80 80"));
}

TEST_CASE("prepare: bad audio names manifest line and sample, or is skipped",
          "[integration][prepare]") {
  fs::path d = fresh_dir("bad");
  fs::create_directories(d / "corpus");
  if (!make_corpus(d / "corpus")) {
    trellis::testing::skip_test("espeak-ng not installed");
  }
  write(d / "corpus" / "broken.wav", "RIFF....not audio");
  std::string tsv = "id\taudio\ttgt_text\n";
  for (int i = 0; i < 6; ++i)
    tsv += fmt::format("u{}\t{}\t{}\n", i + 1,
                       (d / "corpus" / fmt::format("u{}.wav", i + 1)).string(), kTexts[i]);
  tsv += fmt::format("broken\t{}\tbroken\n", (d / "corpus" / "broken.wav").string());
  write(d / "in.tsv", tsv);
  PrepareOptions o;
  o.input_format = "tsv";
  o.inputs = {(d / "in.tsv").string()};
  o.output_dir = (d / "out").string();
  o.splits = "train:1";
  o.vocab_type = "char";
  o.cmvn = "utterance";
  o.progress = false;
  CHECK_THROWS_WITH(run_prepare(o), Catch::Contains("in.tsv:8: sample 'broken'"));
  o.skip_bad_audio = true;
  o.num_workers = 3;
  PrepareSummary s = run_prepare(o);
  CHECK(s.skipped_bad_audio == 1);
  CHECK(s.rows == std::vector<int64_t>{6});
  DataConfig cfg = DataConfig::load((d / "out" / "config.yaml").string());
  CHECK(cfg.bpe_tokenizer.bpe == "characters");
  CHECK(cfg.vocab_filename == "dict.txt");
  CHECK(cfg.transforms_for_split("dev", false) == std::vector<std::string>{"utterance_cmvn"});
  Dictionary dict = Dictionary::load((d / "out" / "dict.txt").string());
  CHECK(dict.contains("|"));
  CHECK(dict.contains("q"));
}

TEST_CASE("prepare: a Common Voice CSV of 48 kHz mp3 clips split 70/30 (seed 001)",
          "[integration][prepare]") {
  fs::path d = fresh_dir("cv_mp3");
  fs::create_directories(d / "speech");
  fs::create_directories(d / "cv" / "clips");
  if (!make_corpus(d / "speech")) {
    trellis::testing::skip_test("espeak-ng not installed");
  }
  // The clips: espeak-ng speech resampled to 48 kHz, stereo, encoded as mp3.
  std::string csv = "path,sentence\n";
  for (int i = 0; i < 6; ++i) {
    Audio a = read_audio((d / "speech" / fmt::format("u{}.wav", i + 1)).string(), 48000);
    std::vector<float> stereo;
    for (float x : a.samples) stereo.insert(stereo.end(), {x, x});
    std::string clip = fmt::format("common_voice_en_{}.mp3", i + 1);
    write_audio_file((d / "cv" / "clips" / clip).string(), stereo, 2, 48000, "mp3");
    csv += fmt::format("{},\"{}\"\n", clip, kTexts[i]);
  }
  write(d / "cv" / "train.csv", csv);
  PrepareOptions o;
  o.input_format = "commonvoice";
  o.inputs = {(d / "cv" / "train.csv").string()};
  o.clips_dir = (d / "cv" / "clips").string();
  o.output_dir = (d / "out").string();
  o.splits = "train:0.7,test:0.3";
  o.vocab_type = "char";
  o.progress = false;
  PrepareSummary s = run_prepare(o);
  REQUIRE(s.rows.size() == 2);
  CHECK(s.rows[0] + s.rows[1] == 6);
  CHECK(s.rows[0] == 4);  // 70% of 6, rounded as prepare documents
  Manifest train = read_tsv_manifest((d / "out" / "train.tsv").string());
  for (const auto& r : train.rows) {
    // n_frames is the fbank frame count of the decoded, downmixed, 16 kHz clip.
    AudioRef ref = parse_audio_field(r.audio);
    auto bytes = read_byte_range(ref.path, ref.offset, ref.length);
    NpyArray feats = decode_npy(bytes.data(), bytes.size(), r.audio);
    CHECK(feats.shape[0] == r.n_frames);
    int64_t frames = 0;
    Audio clip = read_audio((d / "cv" / "clips" / (r.id + ".mp3")).string(), 16000);
    compute_fbank_features(clip, 80, &frames);
    CHECK(frames == r.n_frames);
    // ~100 frames per second of speech: the mp3 was read at its own 48 kHz and resampled.
    CHECK(std::abs(double(r.n_frames) / 100.0 - double(clip.samples.size()) / 16000.0) < 0.05);
  }
}

TEST_CASE("prepare: NeMo segments with raw features are stored as audio entries",
          "[integration][prepare]") {
  fs::path d = fresh_dir("nemo_raw");
  fs::create_directories(d / "speech");
  if (!make_corpus(d / "speech")) {
    trellis::testing::skip_test("espeak-ng not installed");
  }
  Audio whole = read_audio((d / "speech" / "u3.wav").string(), 16000);
  const std::string wav = (d / "speech" / "u3.wav").string();
  // Two segments of one file, and one whole file.
  write(d / "m.json",
        fmt::format("{{\"audio_filepath\": \"{}\", \"offset\": 0.25, \"duration\": 0.5, "
                    "\"text\": \"first part\"}}\n"
                    "{{\"audio_filepath\": \"{}\", \"offset\": 1.0, \"duration\": 0.25, "
                    "\"text\": \"second part\"}}\n"
                    "{{\"audio_filepath\": \"{}\", \"duration\": 1.0, \"text\": \"hello world\"}}\n",
                    wav, wav, (d / "speech" / "u1.wav").string()));
  PrepareOptions o;
  o.input_format = "nemo";
  o.inputs = {(d / "m.json").string()};
  o.output_dir = (d / "out").string();
  o.splits = "train:1.0";
  o.vocab_type = "char";
  o.features = "raw";
  o.cmvn = "none";
  o.progress = false;
  run_prepare(o);
  Manifest m = read_tsv_manifest((d / "out" / "train.tsv").string());
  REQUIRE(m.rows.size() == 3);
  int segments = 0;
  for (const auto& r : m.rows) {
    Audio a = read_audio(r.audio, 16000);
    CHECK(int64_t(a.samples.size()) == r.n_frames);
    if (r.tgt_text == "first part") {
      ++segments;
      REQUIRE(r.n_frames == 8000);  // 0.5 s at 16 kHz
      // The stored segment is the file's samples 4000..12000 (flac is lossless at 16 bits).
      for (size_t i = 0; i < a.samples.size(); i += 500)
        CHECK(a.samples[i] == Approx(whole.samples[4000 + i]).margin(1.0 / 32768));
    } else if (r.tgt_text == "second part") {
      ++segments;
      CHECK(r.n_frames == 4000);
    }
  }
  CHECK(segments == 2);
}
