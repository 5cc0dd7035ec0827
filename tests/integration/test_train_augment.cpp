// Waveform augmentation end to end (docs/data_formats.md, "Waveform augmentation"): training
// audio is speed-, gain-, noise- and reverb-perturbed on the fly and turned into fbank, while
// validation reads the stored features; a stopped and resumed run equals a straight one
// bit for bit (every draw is seeded by seed, epoch and sample index).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/checkpoint.h"
#include "run_command.h"
#include "skip.h"
#include "augment_corpus.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

using trellis::testing::inner_values;

TEST_CASE("train with waveform augmentation: runs, validates on stored features, resumes bitwise",
          "[integration][train][augment]") {
  const std::string fbank = trellis::testing::train_corpus();
  if (fbank.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_augment");
  const std::string data = trellis::testing::augmented_corpus(fbank, dir);
  const std::string base = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --dropout 0.1 --log-format simple --log-interval 1 "
      "--valid-subset dev --save-interval-updates 100 --encoder-layers 1 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1 --num-workers 2",
      bin("train"), data);
  auto straight = run_command(base + " --save-dir " + dir + "/a --max-update 6");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  CHECK(straight.output.find("valid on 'dev' subset") != std::string::npos);
  auto first = run_command(base + " --save-dir " + dir + "/b --max-update 3");
  REQUIRE(first.exit_code == 0);
  auto second = run_command(base + " --save-dir " + dir + "/b --max-update 6");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  auto losses_a = inner_values(straight.output, "loss");
  auto losses_b = inner_values(first.output, "loss");
  for (const auto& l : inner_values(second.output, "loss")) losses_b.push_back(l);
  CHECK(losses_a.size() == 6);
  CHECK(losses_a == losses_b);
  trellis::testing::check_same_model(dir + "/a/checkpoint_last.pt", dir + "/b/checkpoint_last.pt");

  // The augmentation is really on: without it the same run logs other losses.
  auto plain = run_command(base + " --config-yaml plain.yaml --save-dir " + dir +
                           "/c --max-update 3");
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  auto losses_c = inner_values(plain.output, "loss");
  REQUIRE(losses_c.size() == 3);
  CHECK(std::vector<std::string>(losses_a.begin(), losses_a.begin() + 3) != losses_c);

  // --waveform-transforms overrides the config's training list: none = the plain run; a
  // sub-list keeps the config's options for the names it keeps.
  auto off = run_command(base + " --waveform-transforms none --save-dir " + dir +
                         "/d --max-update 3");
  INFO(off.output);
  REQUIRE(off.exit_code == 0);
  CHECK(inner_values(off.output, "loss") == losses_c);
  auto gain_only = run_command(base + " --waveform-transforms gain --save-dir " + dir +
                               "/e --max-update 3");
  INFO(gain_only.output);
  REQUIRE(gain_only.exit_code == 0);
  CHECK(inner_values(gain_only.output, "loss") != losses_c);
  auto unknown = run_command(base + " --waveform-transforms gian --save-dir " + dir +
                             "/f --max-update 3");
  CHECK(unknown.exit_code != 0);
  CHECK_THAT(unknown.output, Catch::Contains("gian"));
}
