// Self-supervised pretraining end to end (docs/ssl.md): train --task masked_token_prediction with
// the nest arch and the mlm criterion on a tiny unlabelled corpus (a TSV without text for
// training, NeMo JSON lines for validation, a noise file), validates, and a stopped and resumed
// run with another --num-workers equals a straight one bit for bit (mixing, dither and masks
// are seeded by seed, epoch and batch).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/checkpoint.h"
#include "core/data/audio_writer.h"
#include "core/interfaces/criterion.h"
#include "core/registry.h"
#include "nemo_file.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::inner_values;
using trellis::testing::run_command;

namespace {

// 12 training and 4 validation utterances of 0.6 .. 2.9 s (tones with a little noise) and a
// noise file, under dir.
void write_ssl_corpus(const fs::path& dir) {
  fs::create_directories(dir / "audio");
  std::mt19937 g(0);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::string tsv = "id\taudio\tn_samples\n", json;
  for (int i = 0; i < 16; ++i) {
    const size_t n = static_cast<size_t>(16000 * (0.6 + 0.15 * i));
    std::vector<float> x(n);
    for (size_t t = 0; t < n; ++t)
      x[t] = static_cast<float>(0.3 * std::sin(2 * M_PI * (200 + 50 * i) * t / 16000.0) +
                                0.02 * n01(g));
    const std::string rel = "audio/u" + std::to_string(i) + ".wav";
    trellis::write_audio_file((dir / rel).string(), x, 1, 16000, "wav");
    if (i < 12)
      tsv += "u" + std::to_string(i) + "\t" + rel + "\t" + std::to_string(n) + "\n";
    else
      json += "{\"audio_filepath\": \"" + rel + "\", \"duration\": " +
              std::to_string(static_cast<double>(n) / 16000) + "}\n";
  }
  std::ofstream(dir / "train.tsv") << tsv;
  std::ofstream(dir / "valid.json") << json;
  std::vector<float> noise(40000);
  for (auto& v : noise) v = static_cast<float>(0.3 * n01(g));
  trellis::write_audio_file((dir / "noise.wav").string(), noise, 1, 16000, "wav");
}

// The train command of a tiny nest model on write_ssl_corpus(dir)'s splits; flags the caller
// appends override these (the parser keeps the last value).
std::string tiny_nest_train(const fs::path& dir) {
  return fmt::format(
      "{} {} --task masked_token_prediction --train-subset train --valid-subset valid --arch nest "
      "--encoder-embed-dim 32 --encoder-layers 1 --encoder-attention-heads 2 "
      "--subsampling-conv-channels 16 --num-classes 64 --block-size 8 --mask-prob 0.05 "
      "--criterion mlm --optimizer adam --lr 1e-3 --max-tokens 2000 --log-format simple "
      "--log-interval 1 --threads 1",
      bin("train"), dir.string());
}

}  // namespace

TEST_CASE("train --task masked_token_prediction: nest + mlm pretrain, validate and resume "
          "bitwise",
          "[integration][train][ssl]") {
  if (!trellis::arch_registry().contains("nest") ||
      !trellis::criterion_registry().contains("mlm"))
    trellis::testing::skip_test("the nest arch or the mlm criterion is not in this build");
  const fs::path dir = trellis::testing::fresh_dir("train_ssl");
  write_ssl_corpus(dir);
  const std::string base = tiny_nest_train(dir) + " --noise-manifest " +
                           (dir / "noise.wav").string() + " --seed 3 --save-interval-updates 100";
  auto straight = run_command(base + " --save-dir " + (dir / "a").string() +
                              " --max-update 6 --num-workers 2");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  CHECK(straight.output.find("valid on 'valid' subset") != std::string::npos);
  CHECK(straight.output.find("loss nan") == std::string::npos);
  auto first = run_command(base + " --save-dir " + (dir / "b").string() +
                           " --max-update 3 --num-workers 0");
  REQUIRE(first.exit_code == 0);
  auto second = run_command(base + " --save-dir " + (dir / "b").string() +
                            " --max-update 6 --num-workers 0");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  auto losses_a = inner_values(straight.output, "loss");
  auto losses_b = inner_values(first.output, "loss");
  for (const auto& l : inner_values(second.output, "loss")) losses_b.push_back(l);
  CHECK(losses_a.size() == 6);
  CHECK(losses_a == losses_b);
  trellis::testing::check_same_model((dir / "a" / "checkpoint_last.pt").string(),
                                     (dir / "b" / "checkpoint_last.pt").string());

  // The mixing is really on: without it the same run logs other losses.
  auto clean = run_command(base + " --mix-prob 0 --save-dir " + (dir / "c").string() +
                           " --max-update 2");
  REQUIRE(clean.exit_code == 0);
  auto losses_c = inner_values(clean.output, "loss");
  REQUIRE(losses_c.size() == 2);
  CHECK(losses_c[1] != losses_a[1]);
}

TEST_CASE("train --task masked_token_prediction: 2 processes equal 1 process with --update-freq 2",
          "[integration][train][ssl][distributed]") {
  // A batch mixes, dithers and masks the same way on any rank (seeded by seed, epoch and its
  // samples); per-rank BatchNorm (--no-syncbatchnorm) equals per-micro-batch statistics.
  if (!trellis::arch_registry().contains("nest") ||
      !trellis::criterion_registry().contains("mlm"))
    trellis::testing::skip_test("the nest arch or the mlm criterion is not in this build");
  const fs::path dir = trellis::testing::fresh_dir("train_ssl_dist");
  write_ssl_corpus(dir);
  const std::string base = tiny_nest_train(dir) + " --noise-manifest " +
                           (dir / "noise.wav").string() +
                           " --seed 3 --dropout 0 --dropout-pre-encoder 0 --dropout-att 0 "
                           "--no-syncbatchnorm --max-update 3 --no-epoch-checkpoints";
  auto two = run_command(base + " --save-dir " + (dir / "two").string() +
                         " --distributed-world-size 2 --update-freq 1");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  auto one = run_command(base + " --save-dir " + (dir / "one").string() + " --update-freq 2");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  CHECK(inner_values(two.output, "loss") == inner_values(one.output, "loss"));
  CHECK(inner_values(two.output, "masked") == inner_values(one.output, "masked"));
  const auto a = trellis::load_checkpoint((dir / "two" / "checkpoint_last.pt").string()).model;
  const auto b = trellis::load_checkpoint((dir / "one" / "checkpoint_last.pt").string()).model;
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (const auto& [k, t] : a) {
    if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos)
      continue;  // BatchNorm running statistics are per rank
    const at::Tensor ref = b.at(k).to(torch::kDouble);
    worst = std::max(worst, ((t.to(torch::kDouble) - ref).abs() / ref.abs().clamp_min(1.0))
                                .max()
                                .item<double>());
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("train --task masked_token_prediction: continued pretraining from a NeMo .nemo",
          "[integration][train][ssl][nemo]") {
  // A .nemo holding a NEST model under NeMo's key names (here: the weights of a short trellis
  // run, repacked as NeMo packs them) starts a new run through --finetune-from-model; a key
  // missing from it is an error naming the key.
  if (!trellis::arch_registry().contains("nest") ||
      !trellis::criterion_registry().contains("mlm"))
    trellis::testing::skip_test("the nest arch or the mlm criterion is not in this build");
  const fs::path dir = trellis::testing::fresh_dir("train_ssl_nemo");
  write_ssl_corpus(dir);
  const std::string base = tiny_nest_train(dir) + " --no-epoch-checkpoints";
  auto first = run_command(base + " --seed 3 --max-update 2 --save-dir " + (dir / "a").string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  auto weights = trellis::load_checkpoint((dir / "a" / "checkpoint_last.pt").string()).model;
  weights["preprocessor.featurizer.window"] = torch::ones({400});  // NeMo's buffers: ignored
  trellis::testing::write_nemo((dir / "nest.nemo").string(), "encoder:\n  d_model: 32\n", weights,
                               /*gzip=*/true);
  // another seed: the initial weights come from the .nemo, not from the seed
  auto cont = run_command(base + " --seed 9 --max-update 1 --finetune-from-model " +
                          (dir / "nest.nemo").string() + " --save-dir " + (dir / "b").string());
  INFO(cont.output);
  REQUIRE(cont.exit_code == 0);
  CHECK(cont.output.find("fine-tuning from the weights of") != std::string::npos);
  auto after = trellis::load_checkpoint((dir / "b" / "checkpoint_last.pt").string()).model;
  // the frozen quantizer and mask embedding carry over exactly (the targets do not change)
  for (const char* k : {"quantizer.codebooks", "quantizer.proj.weight",
                        "mask_processor.mask_embedding"}) {
    INFO(k);
    CHECK(torch::equal(after.at(k), weights.at(k)));
  }
  CHECK(after.at("quantizer.codebooks").scalar_type() == torch::kDouble);

  weights.erase("encoder.layers.0.norm_out.weight");
  trellis::testing::write_nemo((dir / "bad.nemo").string(), "", weights);
  auto bad = run_command(base + " --max-update 1 --finetune-from-model " +
                         (dir / "bad.nemo").string() + " --save-dir " + (dir / "c").string());
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("encoder.layers.0.norm_out.weight") != std::string::npos);
}

TEST_CASE("SSL pipeline (reduced demonstration): the masked-token loss falls, accuracy rises "
          "above chance, and CTC fine-tuning starts from the pretrained encoder",
          "[integration][train][ssl]") {
  // The reduced version of docs/ssl.md's demonstration: NEST pretraining on unlabelled audio,
  // then fastconformer_ctc on the labelled espeak-ng test corpus from its encoder.
  if (!trellis::arch_registry().contains("nest") ||
      !trellis::criterion_registry().contains("mlm"))
    trellis::testing::skip_test("the nest arch or the mlm criterion is not in this build");
  const std::string raw = trellis::testing::train_corpus_raw();
  if (raw.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const fs::path dir = trellis::testing::fresh_dir("ssl_pipeline");
  write_ssl_corpus(dir);
  const std::string sizes =
      " --encoder-embed-dim 32 --encoder-layers 1 --encoder-attention-heads 2 "
      "--subsampling-conv-channels 16 --threads 1 --log-format simple --no-epoch-checkpoints";
  auto pt = run_command(tiny_nest_train(dir) +
                        " --mask-prob 0.2 --lr 3e-3 --max-update 120 --log-interval 10 --seed 1 "
                        "--no-epoch-checkpoints --save-dir " + (dir / "pt").string());
  INFO(pt.output);
  REQUIRE(pt.exit_code == 0);
  const auto losses = inner_values(pt.output, "loss");
  const auto accuracy = inner_values(pt.output, "accuracy");
  REQUIRE(losses.size() == 12);
  REQUIRE(accuracy.size() == 12);
  // base-2 loss: chance is log2(64) = 6 bits; accuracy: chance is 1 of 64 classes (1.6%)
  CHECK(std::stod(losses.back()) < std::stod(losses.front()) - 0.4);
  const double late_accuracy =
      (std::stod(accuracy[9]) + std::stod(accuracy[10]) + std::stod(accuracy[11])) / 3;
  CHECK(late_accuracy > 3 * 100.0 / 64);

  // Labelled data with the same front end: the espeak corpus's audio, NeMo log-mel on the fly.
  const fs::path data = dir / "labelled";
  fs::create_directories(data);
  fs::copy_file(fs::path(raw) / "dict.txt", data / "dict.txt");
  for (const char* split : {"train", "dev"}) {
    std::ifstream in(fs::path(raw) / (std::string(split) + ".tsv"));
    std::ofstream out(data / (std::string(split) + ".tsv"));
    std::string line;
    for (int n = 0; std::getline(in, line); ++n) {
      if (n > 0) {  // n_frames: samples -> 10 ms frames
        auto a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
        line = line.substr(0, b + 1) + std::to_string(std::stoll(line.substr(b + 1, c - b - 1)) / 160) +
               line.substr(c);
      }
      out << line << "\n";
    }
  }
  std::ofstream(data / "config.yaml")
      << "vocab_filename: dict.txt\nbpe_tokenizer: {bpe: characters}\ninput_channels: 1\n"
         "input_feat_per_channel: 80\nuse_sample_rate: 16000\nfront_end: nemo_mel\n";
  const std::string pretrained = (dir / "pt" / "checkpoint_last.pt").string();
  auto ft = run_command(bin("train") + " " + data.string() +
                        " --task speech_to_text --arch fastconformer_ctc --criterion ctc "
                        "--zero-infinity --optimizer adam --lr 1e-3 --max-tokens 3000 "
                        "--max-update 2 --freeze-finetune-updates 2 --valid-subset dev "
                        "--log-interval 1 --w2v-path " +
                        pretrained + " --save-dir " + (dir / "ft").string() + sizes);
  INFO(ft.output);
  REQUIRE(ft.exit_code == 0);
  CHECK(ft.output.find("encoder tensors (CTC head newly initialized)") != std::string::npos);
  // Frozen for its 2 updates: the encoder's weights are still the pretrained ones.
  const auto before = trellis::load_checkpoint(pretrained).model;
  const auto after = trellis::load_checkpoint((dir / "ft" / "checkpoint_last.pt").string()).model;
  int compared = 0;
  for (const auto& [k, t] : after) {
    if (k.rfind("encoder.", 0) != 0 || k.find("running_") != std::string::npos ||
        k.find("num_batches") != std::string::npos)
      continue;
    INFO(k);
    CHECK(torch::equal(t, before.at(k)));
    ++compared;
  }
  CHECK(compared > 20);
  CHECK(after.count("quantizer.codebooks") == 0);
}
