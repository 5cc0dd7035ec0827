// Resume from a checkpoint taken at the end of an epoch with an epoch-driven LR schedule
// (reduce_lr_on_plateau): the epoch-end step is in that checkpoint, so 9 updates (one epoch of
// the test corpus), a relaunch to 20 equals 20 in one go. Before the fix the relaunch missed the
// step and never halved the LR.
#include <catch2/catch.hpp>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

using namespace trellis::testing;

TEST_CASE("train: a resume from an end-of-epoch checkpoint keeps the epoch's LR step",
          "[integration][train]") {
  const std::string data = train_corpus();
  if (data.empty()) skip_test("espeak-ng or sox not installed");
  const std::string dir = fresh_dir("resume_epoch_end");
  const std::string cmd = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --lr-scheduler reduce_lr_on_plateau --lr-shrink 0.5 --lr-patience 0 "
      "--lr-threshold 0.5 --max-tokens 1000 --dropout 0.1 --log-format simple --log-interval 1 "
      "--valid-subset dev --encoder-layers 2 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
      "--encoder-attention-heads 2 --conv-channels 32 --conformer-conv-kernel-size 5 "
      "--threads 1 --no-epoch-checkpoints",
      bin("train"), data);
  auto straight = run_command(cmd + " --save-dir " + dir + "/a --max-update 20");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  // Epoch 1 has 9 updates; the plateau test halves the LR at the end of epoch 2.
  REQUIRE(inner_values(straight.output, "lr").back() == "0.0005");
  auto first = run_command(cmd + " --save-dir " + dir + "/b --max-update 9");
  REQUIRE(first.exit_code == 0);
  auto second = run_command(cmd + " --save-dir " + dir + "/b --max-update 20");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  CHECK(inner_values(second.output, "lr").back() == "0.0005");
  check_same_model(dir + "/a/checkpoint_last.pt", dir + "/b/checkpoint_last.pt");
}
