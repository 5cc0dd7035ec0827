// --task audio_pretraining (tasks/audio_pretraining.h): a wav2vec manifest, --min-sample-size,
// crops to the shortest utterance (fairseq pad=False) or padding with lengths
// (--enable-padding), --max-sample-size, --normalize, deterministic random crops per seed, bad
// options.
#include <torch/torch.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/audio_writer.h"
#include "core/error.h"
#include "core/interfaces/model.h"
#include "core/interfaces/task.h"
#include "tasks/audio_pretraining.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

struct AudioCorpus {
  fs::path root;
  std::vector<std::vector<float>> audio;
  AudioCorpus() {
    root = fs::temp_directory_path() / ("trellis_w2vpt_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "wavs");
    std::ofstream tsv(root / "train.tsv");
    tsv << (root / "wavs").string() << "\n";
    const std::vector<size_t> sizes{4000, 12000, 9000, 16000, 700};
    for (size_t k = 0; k < sizes.size(); ++k) {
      std::vector<float> x(sizes[k]);
      for (size_t t = 0; t < x.size(); ++t)
        x[t] = static_cast<float>(0.25 * std::sin(0.013 * static_cast<double>((k + 1) * t)) + 0.05);
      const std::string name = "u" + std::to_string(k) + ".wav";
      write_audio_file((root / "wavs" / name).string(), x, 1, 16000, "wav_float");
      tsv << name << "\t" << sizes[k] << "\n";
      audio.push_back(x);
    }
  }
  ~AudioCorpus() { fs::remove_all(root); }
};

std::unique_ptr<Task> make_task(const AudioCorpus& c,
                                const std::function<void(AudioPretrainingOptions&)>& edit) {
  AnyOptions o = task_registry().make_options("audio_pretraining");
  edit(o.as<AudioPretrainingOptions>());
  TaskContext ctx;
  ctx.data_root = c.root.string();
  return task_registry().create("audio_pretraining", o, ctx);
}

}  // namespace

TEST_CASE("audio_pretraining: crops, padding, normalization", "[unit][audio_pretraining]") {
  AudioCorpus c;
  SECTION("crop to the shortest, random positions from the seed") {
    auto task = make_task(c, [](AudioPretrainingOptions& o) {
      o.min_sample_size = 1000;
      o.max_sample_size = 10000;
    });
    auto& t = dynamic_cast<AudioPretrainingTask&>(*task);
    t.load_dataset("train", true);
    CHECK(t.dataset_size("train") == 5);
    CHECK(t.source_sizes("train")[1] == 12000);
    BatchRequest r;
    r.batch_size = 8;
    r.required_batch_size_multiple = 1;
    Batches bs = t.batches("train", r);
    size_t total = 0;
    for (const auto& b : bs) total += b.size();
    CHECK(total == 4);  // u4 (700 samples) is under --min-sample-size
    AudioPretrainingBatch b = t.collate_audio("train", {1, 2, 3}, 7);
    CHECK(b.source.sizes() == at::IntArrayRef({3, 9000}));  // shortest of 12000, 9000, 16000
    CHECK_FALSE(b.lengths.defined());
    CHECK(b.src_frames == 27000);
    // row 1 (u2) is uncropped; rows 0 and 2 are windows of their utterance
    for (int64_t row = 0; row < 3; ++row) {
      const auto& a = c.audio[static_cast<size_t>(b.indices[static_cast<size_t>(row)])];
      const float first = b.source[row][0].item<float>();
      bool found = false;
      for (size_t s = 0; s + 9000 <= a.size() && !found; ++s) {
        if (a[s] != first) continue;
        found = std::abs(a[s + 8999] - b.source[row][8999].item<float>()) < 1e-7 &&
                std::abs(a[s + 4321] - b.source[row][4321].item<float>()) < 1e-7;
      }
      CHECK(found);
    }
    CHECK(t.collate_audio("train", {1, 2, 3}, 7).source.equal(b.source));
    CHECK_FALSE(t.collate_audio("train", {1, 2, 3}, 8).source.equal(b.source));
    // --max-sample-size caps the crop
    CHECK(t.collate_audio("train", {1, 3}, 1).source.size(1) == 10000);
  }
  SECTION("--enable-padding: padded with lengths; --normalize: zero mean, unit variance") {
    auto task = make_task(c, [](AudioPretrainingOptions& o) {
      o.enable_padding = true;
      o.normalize = true;
      o.max_sample_size = 15000;
    });
    auto& t = dynamic_cast<AudioPretrainingTask&>(*task);
    t.load_dataset("train", false);
    AudioPretrainingBatch b = t.collate_audio("train", {0, 2}, 1);
    CHECK(b.source.sizes() == at::IntArrayRef({2, 9000}));
    REQUIRE(b.lengths.defined());
    CHECK(b.lengths[0].item<int64_t>() == 4000);
    CHECK(b.lengths[1].item<int64_t>() == 9000);
    CHECK(b.source[0].narrow(0, 4000, 5000).abs().sum().item<double>() == 0.0);
    at::Tensor row = b.source[1].to(at::kDouble);
    CHECK(std::abs(row.mean().item<double>()) < 1e-4);
    CHECK(std::abs(row.var(false).item<double>() - 1.0) < 1e-3);
    AudioPretrainingBatch big = t.collate_audio("train", {3, 1}, 1);
    CHECK(big.source.size(1) == 15000);  // the longest, capped
    CHECK(big.lengths[1].item<int64_t>() == 12000);
  }
  SECTION("bad options") {
    CHECK_THROWS_AS(make_task(c, [](AudioPretrainingOptions& o) { o.min_sample_size = -1; }),
                    ConfigError);
    CHECK_THROWS_AS(make_task(c,
                              [](AudioPretrainingOptions& o) {
                                o.min_sample_size = 100;
                                o.max_sample_size = 50;
                              }),
                    ConfigError);
  }
}
