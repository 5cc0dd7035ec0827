// wav2vec2_ctc fine-tuning with the real binaries on the raw-audio test corpus: a small random
// model learns (dev loss and CER fall, WER on the training subset falls), the frozen feature
// extractor never changes, --keep-interval-updates 2 keeps two checkpoints; then --w2v-path
// starts a new run from that checkpoint (a torch pickle) with --freeze-finetune-updates holding
// the body; generate decodes and scores it.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "core/checkpoint.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

const char* kTinyWav2Vec2 =
    " --task speech_to_text_ctc --arch wav2vec2_ctc --criterion ctc --max-source-positions 480000"
    " --conv-feature-layers '[(64, 10, 5)] + [(64, 3, 2)] * 4 + [(64, 2, 2)] * 2'"
    " --encoder-embed-dim 96 --encoder-layers 3 --encoder-attention-heads 4"
    " --encoder-ffn-embed-dim 192 --conv-pos 32 --conv-pos-groups 8 --layerdrop 0"
    " --mask-prob 0.2 --optimizer adamw --lr 2e-3 --weight-decay 0.01 --lr-scheduler onecycle"
    " --max-tokens 400000 --clip-norm 5 --no-epoch-checkpoints --log-interval 10 --threads 2"
    " --seed 3";

// (loss, uer, wer) of every validation on `subset`, in order.
std::vector<std::array<double, 3>> validations(const std::string& log, const std::string& subset) {
  std::vector<std::array<double, 3>> out;
  std::regex re("valid on '" + subset +
                "' subset \\| loss ([0-9.]+) .*\\| uer ([0-9.]+) \\| wer ([0-9.]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back({std::stod((*it)[1]), std::stod((*it)[2]), std::stod((*it)[3])});
  return out;
}

bool is_extractor(const std::string& k) {
  return k.find("feature_extractor.") != std::string::npos;
}
bool is_head(const std::string& k) { return k.rfind("w2v_encoder.proj.", 0) == 0; }

}  // namespace

TEST_CASE("train: wav2vec2_ctc fine-tunes, keeps its extractor frozen, restarts from --w2v-path",
          "[integration][train][wav2vec2]") {
  const std::string data = trellis::testing::train_corpus_raw();
  if (data.empty()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string dir = trellis::testing::fresh_dir("train_wav2vec2");
  const std::string run1 =
      bin("train") + " " + data + kTinyWav2Vec2 + " --save-dir " + dir + "/a" +
      " --max-update 150 --valid-subset dev,train --validate-interval 1000"
      " --validate-interval-updates 15 --save-interval-updates 23 --keep-interval-updates 2"
      " --best-checkpoint-metric wer";
  // The same run stopped after one update gives the untrained baseline.
  auto r = run_command(std::regex_replace(run1, std::regex("--max-update 150"), "--max-update 1") +
                       " --save-dir " + dir + "/a0");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto dev0 = validations(r.output, "dev"), train0 = validations(r.output, "train");
  REQUIRE(dev0.size() == 1);
  REQUIRE(train0.size() == 1);
  r = run_command(run1);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto dev = validations(r.output, "dev"), train = validations(r.output, "train");
  REQUIRE(dev.size() >= 3);
  REQUIRE(train.size() == dev.size());
  CHECK(dev.back()[0] < 0.7 * dev0[0][0]);  // loss
  CHECK(dev.back()[1] < 0.7 * dev0[0][1]);  // unit (character) error rate
  CHECK(train.back()[0] < 0.5 * train0[0][0]);
  CHECK(train.back()[2] < train0[0][2]);  // WER on the training subset
  CHECK(train.back()[2] < 90.0);
  // --keep-interval-updates 2: the last two interval checkpoints remain (multiples of 23 that
  // are not epoch ends: 92 and 138).
  int interval = 0;
  for (const auto& e : fs::directory_iterator(dir + "/a"))
    interval +=
        std::regex_match(e.path().filename().string(), std::regex("checkpoint_\\d+_\\d+\\.pt"));
  CHECK(interval == 2);

  // The extractor (fairseq's --feature-grad-mult 0 default) did not move between the update-92
  // checkpoint and the last one; everything else did.
  const fs::path mid = fs::path(dir) / "a" / "checkpoint_19_92.pt";
  REQUIRE(fs::exists(mid));
  auto a = trellis::load_checkpoint(mid.string());
  auto last = trellis::load_checkpoint(dir + "/a/checkpoint_last.pt");
  for (const auto& [k, t] : last.model) {
    INFO(k);
    if (is_extractor(k))
      CHECK(torch::equal(t, a.model.at(k)));
    else if (k.find("weight") != std::string::npos)
      CHECK_FALSE(torch::equal(t, a.model.at(k)));
  }

  // A new run from that checkpoint: --w2v-path reads the torch pickle; the body stays frozen
  // for all 4 updates (--freeze-finetune-updates 100), only the CTC head learns.
  const std::string run2 = bin("train") + " " + data + kTinyWav2Vec2 + " --save-dir " + dir +
                           "/b --max-update 4 --disable-validation --freeze-finetune-updates 100"
                           " --w2v-path " +
                           dir + "/a/checkpoint_last.pt";
  r = run_command(run2);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("CTC head loaded") != std::string::npos);
  auto b = trellis::load_checkpoint(dir + "/b/checkpoint_last.pt");
  for (const auto& [k, t] : b.model) {
    INFO(k);
    if (is_head(k))
      CHECK_FALSE(torch::equal(t, last.model.at(k)));
    else
      CHECK(torch::equal(t, last.model.at(k)));
  }

  // generate rebuilds the model from the checkpoint alone (no --w2v-path needed) and scores.
  r = run_command(bin("generate") + " " + data + " --gen-subset dev --path " + dir +
                  "/a/checkpoint_last.pt --scoring wer --max-tokens 1000000 --threads 2");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(r.output, std::regex("WER: [0-9.]+")));
}
