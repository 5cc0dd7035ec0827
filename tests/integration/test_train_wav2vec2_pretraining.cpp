// wav2vec 2.0 pretraining end to end (issue 17; docs/ssl.md, "wav2vec 2.0 pretraining"): train
// --task audio_pretraining --arch wav2vec2 --criterion wav2vec on a tiny synthetic corpus (a
// wav2vec manifest of "tone sequences": 1000 .. 2400-sample segments of one of six tones, so
// that masked frames are predictable from context). The contrastive accuracy rises well above
// chance while the codebook does not collapse; a stopped and resumed run equals a straight one
// bit for bit; --enable-padding runs. Then the reduced pipeline on the espeak-ng corpus:
// pretraining on its audio, CTC fine-tuning (wav2vec2_ctc) from that checkpoint.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/data/audio_writer.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/task.h"
#include "core/registry.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::inner_values;
using trellis::testing::run_command;

namespace {

// 21 training and 4 validation utterances of 0.8 .. 2 s under dir, as wav2vec manifests.
void write_tone_corpus(const fs::path& dir) {
  fs::create_directories(dir / "audio");
  std::mt19937 g(0);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::uniform_int_distribution<int> seg(1000, 2400), tone(0, 5);
  const double freqs[] = {150, 300, 450, 700, 1000, 1500};
  std::string train = (dir / "audio").string() + "\n", valid = train;
  for (int i = 0; i < 25; ++i) {
    const size_t n = static_cast<size_t>(16000 * (0.8 + 0.05 * i));
    std::vector<float> x(n);
    for (size_t t = 0; t < n;) {
      const size_t len = static_cast<size_t>(seg(g));
      const double f = freqs[tone(g)];
      for (size_t k = 0; k < len && t + k < n; ++k)
        x[t + k] =
            static_cast<float>(0.3 * std::sin(2 * M_PI * f * static_cast<double>(k) / 16000));
      t += len;
    }
    for (auto& v : x) v += static_cast<float>(0.01 * n01(g));
    const std::string name = "u" + std::to_string(i) + ".wav";
    trellis::write_audio_file((dir / "audio" / name).string(), x, 1, 16000, "wav");
    (i < 21 ? train : valid) += name + "\t" + std::to_string(n) + "\n";
  }
  std::ofstream(dir / "train.tsv") << train;
  std::ofstream(dir / "valid.tsv") << valid;
}

// A tiny wav2vec2 (hop 80 samples, 32 dim, 2 layers, 2 x 16 codewords, 10 negatives).
std::string tiny_w2v2_train(const fs::path& dir) {
  return fmt::format(
      "{} {} --task audio_pretraining --train-subset train --valid-subset valid --arch wav2vec2 "
      "--conv-feature-layers '[(32, 10, 5)] + [(32, 3, 2)] * 4' --encoder-embed-dim 32 "
      "--encoder-ffn-embed-dim 64 --encoder-layers 2 --encoder-attention-heads 2 --conv-pos 16 "
      "--conv-pos-groups 4 --latent-vars 16 --latent-groups 2 --final-dim 16 --num-negatives 10 "
      "--mask-prob 0.5 --mask-length 4 --latent-temp '(2,0.5,0.99)' --max-sample-size 8000 "
      "--min-sample-size 4000 --criterion wav2vec --loss-weights '[0.1, 10]' --optimizer adam "
      "--lr 2e-3 --max-tokens 40000 --required-batch-size-multiple 1 --log-format simple "
      "--threads 1 --seed 2 --no-epoch-checkpoints",
      bin("train"), dir.string());
}

double mean_of(const std::vector<std::string>& v, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += std::stod(v[i]);
  return s / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE(
    "train --task audio_pretraining: wav2vec2 learns (accuracy >> chance, no codebook "
    "collapse) and resumes bitwise",
    "[integration][slow][train][wav2vec2_pretraining]") {
  if (!trellis::task_registry().contains("audio_pretraining") ||
      !trellis::criterion_registry().contains("wav2vec"))
    trellis::testing::skip_test("audio_pretraining or the wav2vec criterion is not in this build");
  const fs::path dir = trellis::testing::fresh_dir("train_w2v2_pretrain");
  write_tone_corpus(dir);
  const std::string base = tiny_w2v2_train(dir);

  auto learn = run_command(base + " --max-update 150 --log-interval 10 --save-dir " +
                           (dir / "learn").string());
  INFO(learn.output);
  REQUIRE(learn.exit_code == 0);
  const auto loss = inner_values(learn.output, "loss");
  const auto acc = inner_values(learn.output, "accuracy");
  const auto ppl = inner_values(learn.output, "prob_perplexity");
  const auto temp = inner_values(learn.output, "temp");
  REQUIRE(loss.size() >= 10);
  REQUIRE(acc.size() == loss.size());
  const size_t n = loss.size();
  CHECK(mean_of(loss, n - 3, n) < 0.7 * mean_of(loss, 0, 2));
  // 1 positive among 11 candidates: chance is 1/11 = 0.09
  CHECK(mean_of(acc, n - 3, n) > 0.4);
  CHECK(mean_of(acc, 0, 1) < 0.3);
  // codebook use: the perplexity of 2 groups x 16 codewords stays far from collapse (2)
  for (const auto& p : ppl) CHECK(std::stod(p) > 10.0);
  CHECK(std::stod(temp.back()) < std::stod(temp.front()));  // the Gumbel temperature decays
  CHECK(learn.output.find("valid on 'valid' subset | loss") != std::string::npos);
  CHECK(learn.output.find("loss nan") == std::string::npos);

  // resume: 8 straight == 4, stop, resume, 4, with layer drop (docs/ssl.md, "One step")
  const std::string r =
      base + " --encoder-layerdrop 0.5 --log-interval 1 --save-interval-updates 100";
  auto straight = run_command(r + " --max-update 8 --save-dir " + (dir / "a").string());
  REQUIRE(straight.exit_code == 0);
  auto first = run_command(r + " --max-update 4 --save-dir " + (dir / "b").string());
  REQUIRE(first.exit_code == 0);
  auto second = run_command(r + " --max-update 8 --save-dir " + (dir / "b").string());
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  auto losses_a = inner_values(straight.output, "loss");
  auto losses_b = inner_values(first.output, "loss");
  for (const auto& l : inner_values(second.output, "loss")) losses_b.push_back(l);
  CHECK(losses_a.size() == 8);
  CHECK(losses_a == losses_b);
  CHECK(inner_values(straight.output, "temp") == [&] {
    auto t = inner_values(first.output, "temp");
    for (const auto& v : inner_values(second.output, "temp")) t.push_back(v);
    return t;
  }());
  trellis::testing::check_same_model((dir / "a" / "checkpoint_last.pt").string(),
                                     (dir / "b" / "checkpoint_last.pt").string());

  // --enable-padding: rows padded to the longest crop with a padding mask
  auto padded = run_command(base +
                            " --enable-padding --max-sample-size 20000 --max-tokens 70000 "
                            "--max-update 2 --log-interval 1 "
                            "--save-dir " +
                            (dir / "p").string());
  INFO(padded.output);
  REQUIRE(padded.exit_code == 0);
  CHECK(inner_values(padded.output, "loss").size() == 2);
}

TEST_CASE("wav2vec2 pretraining then CTC fine-tuning from its checkpoint (reduced pipeline)",
          "[integration][slow][train][wav2vec2_pretraining]") {
  if (!trellis::task_registry().contains("audio_pretraining") ||
      !trellis::criterion_registry().contains("wav2vec"))
    trellis::testing::skip_test("audio_pretraining or the wav2vec criterion is not in this build");
  const std::string raw = trellis::testing::train_corpus_raw();
  if (raw.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const fs::path dir = trellis::testing::fresh_dir("w2v2_pretrain_finetune");
  // The labelled corpus's audio as a wav2vec manifest (no text): absolute paths under root "/".
  std::ifstream in(fs::path(raw) / "train.tsv");
  std::string line, manifest = "/\n";
  std::getline(in, line);  // header: id audio n_frames (samples for raw audio) ...
  int rows = 0;
  while (std::getline(in, line)) {
    const size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    manifest += line.substr(a + 2, b - a - 2) + "\t" + line.substr(b + 1, c - b - 1) + "\n";
    ++rows;
  }
  REQUIRE(rows >= 20);
  std::ofstream(dir / "train.tsv") << manifest;
  std::ofstream(dir / "valid.tsv") << manifest;
  const std::string sizes =
      " --conv-feature-layers '[(32, 10, 5)] + [(32, 3, 2)] * 4' --encoder-embed-dim 32"
      " --encoder-ffn-embed-dim 64 --encoder-layers 2 --encoder-attention-heads 2 --conv-pos 16"
      " --conv-pos-groups 4";
  auto pre = run_command(
      bin("train") + " " + dir.string() +
      " --task audio_pretraining --train-subset train --valid-subset valid --arch wav2vec2" +
      sizes +
      " --latent-vars 16 --latent-groups 2 --final-dim 16 --num-negatives 10 --mask-prob 0.5"
      " --mask-length 4 --latent-temp '(2,0.5,0.99)' --max-sample-size 16000"
      " --criterion wav2vec --loss-weights '[0.1, 10]' --optimizer adam --lr 2e-3"
      " --max-tokens 80000 --max-update 40 --log-format simple --log-interval 10 --threads 1"
      " --no-epoch-checkpoints --save-dir " +
      (dir / "pre").string());
  INFO(pre.output);
  REQUIRE(pre.exit_code == 0);
  const auto loss = inner_values(pre.output, "loss");
  REQUIRE(loss.size() >= 3);
  CHECK(std::stod(loss.back()) < std::stod(loss.front()));
  // fine-tuning takes the body and drops quantizer (3), project_q (2) and final_proj (2)
  auto ft = run_command(
      bin("train") + " " + raw + " --task speech_to_text_ctc --arch wav2vec2_ctc --criterion ctc" +
      " --max-source-positions 480000" + sizes + " --layerdrop 0 --mask-prob 0.2 --w2v-path " +
      (dir / "pre" / "checkpoint_last.pt").string() +
      " --optimizer adam --lr 1e-3 --max-tokens 400000 --max-update 2 --max-epoch 3"
      " --log-format simple"
      " --log-interval 1 --threads 1 --no-epoch-checkpoints --disable-validation --save-dir " +
      (dir / "ft").string());
  INFO(ft.output);
  REQUIRE(ft.exit_code == 0);
  CHECK(ft.output.find("skipped 7 of the pretraining heads") != std::string::npos);
  CHECK(inner_values(ft.output, "loss").size() == 2);
}
