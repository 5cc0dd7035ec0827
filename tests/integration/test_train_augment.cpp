// Waveform augmentation end to end (docs/data_formats.md, "Waveform augmentation"): training
// audio is speed-, gain-, noise- and reverb-perturbed on the fly and turned into fbank, while
// validation reads the stored features; a stopped and resumed run equals a straight one
// bit for bit (every draw is seeded by seed, epoch and sample index).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/checkpoint.h"
#include "run_command.h"
#include "skip.h"
#include "augment_corpus.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

std::vector<std::string> inner_losses(const std::string& log) {
  std::vector<std::string> out;
  std::regex re("train_inner \\|.* loss=([^,\\s]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

}  // namespace

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
  auto losses_a = inner_losses(straight.output);
  auto losses_b = inner_losses(first.output);
  for (const auto& l : inner_losses(second.output)) losses_b.push_back(l);
  CHECK(losses_a.size() == 6);
  CHECK(losses_a == losses_b);
  auto a = trellis::load_checkpoint(dir + "/a/checkpoint_last.pt");
  auto b = trellis::load_checkpoint(dir + "/b/checkpoint_last.pt");
  REQUIRE(a.model.size() == b.model.size());
  for (const auto& [k, t] : a.model) {
    INFO(k);
    CHECK(torch::equal(t, b.model.at(k)));
  }

  // The augmentation is really on: without it the same run logs other losses.
  auto plain = run_command(base + " --config-yaml plain.yaml --save-dir " + dir +
                           "/c --max-update 3");
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  auto losses_c = inner_losses(plain.output);
  REQUIRE(losses_c.size() == 3);
  CHECK(std::vector<std::string>(losses_a.begin(), losses_a.begin() + 3) != losses_c);

  // --waveform-transforms overrides the config's training list: none = the plain run; a
  // sub-list keeps the config's options for the names it keeps.
  auto off = run_command(base + " --waveform-transforms none --save-dir " + dir +
                         "/d --max-update 3");
  INFO(off.output);
  REQUIRE(off.exit_code == 0);
  CHECK(inner_losses(off.output) == losses_c);
  auto gain_only = run_command(base + " --waveform-transforms gain --save-dir " + dir +
                               "/e --max-update 3");
  INFO(gain_only.output);
  REQUIRE(gain_only.exit_code == 0);
  CHECK(inner_losses(gain_only.output) != losses_c);
  auto unknown = run_command(base + " --waveform-transforms gian --save-dir " + dir +
                             "/f --max-update 3");
  CHECK(unknown.exit_code != 0);
  CHECK_THAT(unknown.output, Catch::Contains("gian"));
}
