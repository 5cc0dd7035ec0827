// core/data/unlabeled_manifest: what a TSV's n_frames column counts. A raw-audio folder
// (config.yaml with use_audio_input: true, as `prepare --features raw` writes it) stores samples;
// without such a config n_frames are 10 ms feature frames (fairseq's speech_to_text rule).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/audio_writer.h"
#include "core/data/prepare.h"
#include "core/data/unlabeled_manifest.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

fs::path fresh(const std::string& name) {
  fs::path d = fs::temp_directory_path() /
               ("trellis_unlab_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::vector<float> tone(size_t n, double f) {
  std::vector<float> x(n);
  for (size_t t = 0; t < n; ++t) x[t] = static_cast<float>(0.3 * std::sin(f * double(t)));
  return x;
}

}  // namespace

TEST_CASE("unlabeled manifest: n_frames are samples in a raw-audio folder, else 10 ms frames",
          "[unit][unlabeled_manifest][audio_pretraining]") {
  const fs::path d = fresh("units");
  write_audio_file((d / "a.wav").string(), tone(8000, 0.01), 1, 16000, "wav");
  const std::string tsv = (d / "train.tsv").string();
  write(d / "train.tsv", "id\taudio\tn_frames\nx\ta.wav\t8000\n");

  SECTION("no config: feature frames") {
    UnlabeledManifest m = read_unlabeled_tsv(tsv, 16000);
    REQUIRE(m.entries.size() == 1);
    CHECK(m.entries[0].num_samples == 8000 * 160);
    CHECK(m.sizes_from == "n_frames (10 ms frames)");
    CHECK(n_frames_unit_beside(tsv) == NFramesUnit::kFrames10ms);
  }
  SECTION("use_audio_input: true: samples") {
    write(d / "config.yaml", "vocab_filename: dict.txt\nuse_audio_input: true\n");
    UnlabeledManifest m = find_unlabeled_manifest(d.string(), "train", 16000);
    CHECK(m.entries.at(0).num_samples == 8000);
    CHECK(m.sizes_from == "n_frames (samples)");
    // an explicit unit wins over the config
    CHECK(read_unlabeled_tsv(tsv, 16000, NFramesUnit::kFrames10ms).entries[0].num_samples ==
          8000 * 160);
  }
  SECTION("a feature config (use_audio_input false, on-the-fly nemo_mel): frames") {
    write(d / "config.yaml", "use_audio_input: false\nfront_end: nemo_mel\n");
    CHECK(read_unlabeled_tsv(tsv, 16000).entries[0].num_samples == 8000 * 160);
  }
  SECTION("FBK's is_input_waveform: samples") {
    write(d / "config.yaml", "is_input_waveform: true\n");
    CHECK(read_unlabeled_tsv(tsv, 16000).entries[0].num_samples == 8000);
  }
  SECTION("frames at another rate: rate / 100 samples each") {
    CHECK(read_unlabeled_tsv(tsv, 8000).entries[0].num_samples == 8000 * 80);
  }
  SECTION("n_samples wins over n_frames and the config") {
    write(d / "ns.tsv", "audio\tn_frames\tn_samples\na.wav\t50\t8000\n");
    UnlabeledManifest m = read_unlabeled_tsv((d / "ns.tsv").string(), 16000);
    CHECK(m.entries[0].num_samples == 8000);
    CHECK(m.sizes_from == "n_samples");
  }
  SECTION("a config that is not a data config is an error naming it") {
    write(d / "config.yaml", "use_audio_input: maybe\n");
    CHECK_THROWS_AS(read_unlabeled_tsv(tsv, 16000), DataError);
    try {
      read_unlabeled_tsv(tsv, 16000);
    } catch (const DataError& e) {
      CHECK_THAT(e.what(), Catch::Contains("config.yaml"));
    }
    // a wav2vec manifest and a TSV without a size column never read the config
    write(d / "w2v.tsv", d.string() + "\na.wav\t8000\n");
    CHECK(read_unlabeled_tsv((d / "w2v.tsv").string(), 16000).entries[0].num_samples == 8000);
    write(d / "hdr.tsv", "audio\na.wav\n");
    UnlabeledManifest h = read_unlabeled_tsv((d / "hdr.tsv").string(), 16000);
    CHECK(h.entries[0].num_samples == 8000);
    CHECK(h.sizes_from == "header");
  }
  fs::remove_all(d);
}

TEST_CASE("unlabeled manifest: a `prepare --features raw` folder has the audio's true sizes",
          "[unit][unlabeled_manifest][audio_pretraining]") {
  const fs::path d = fresh("prepared");
  fs::create_directories(d / "in");
  const std::vector<size_t> sizes{12000, 20000, 7000, 16000};
  const char* texts[] = {"one two", "three four five", "six", "seven eight"};
  for (size_t k = 0; k < sizes.size(); ++k) {
    write_audio_file((d / "in" / ("u" + std::to_string(k) + ".wav")).string(),
                     tone(sizes[k], 0.02 + 0.01 * double(k)), 1, 16000, "wav");
    write(d / "in" / ("u" + std::to_string(k) + ".txt"), texts[k]);
  }
  PrepareOptions o;
  o.input_format = "dir";
  o.inputs = {(d / "in").string()};
  o.output_dir = (d / "out").string();
  o.splits = "train:1.0";
  o.vocab_type = "char";
  o.features = "raw";
  o.cmvn = "none";
  o.progress = false;
  run_prepare(o);
  UnlabeledManifest m = find_unlabeled_manifest((d / "out").string(), "train", 16000);
  REQUIRE(m.entries.size() == sizes.size());
  CHECK(m.sizes_from == "n_frames (samples)");
  for (const UnlabeledEntry& e : m.entries) {
    CHECK(e.num_samples == audio_file_samples(e.audio, 16000));
    CHECK(e.num_samples == int64_t(read_unlabeled_audio(e, 16000).size()));
  }
  fs::remove_all(d);
}
