// The README's main job, scripts/quickstart.sh, end to end in its reduced mode: 40 espeak-ng
// utterances, 30 updates of a tiny conformer, the executables of this build (no install or
// build step). About 20 s on 2 cores.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "svg_check.h"

namespace fs = std::filesystem;

TEST_CASE("quickstart.sh in reduced mode: WER printed, checkpoints, logs and plot written",
          "[integration][quickstart]") {
  if (std::system("command -v espeak-ng > /dev/null 2>&1 && command -v sox > /dev/null 2>&1")) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string work = trellis::testing::fresh_dir("quickstart");
  const std::string tiny =
      "--encoder-layers 1 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
      "--encoder-attention-heads 2 --conv-channels 32 --conformer-conv-kernel-size 5 "
      "--warmup-updates 10 --validate-interval 10 --threads 1";
  const std::string cmd = fmt::format(
      "TRELLIS_QUICKSTART_DIR='{}' TRELLIS_QUICKSTART_UTTS=40 TRELLIS_QUICKSTART_UPDATES=30 "
      "TRELLIS_QUICKSTART_SKIP_SETUP=1 TRELLIS_BUILD_DIR='{}' "
      "TRELLIS_QUICKSTART_TRAIN_ARGS='{}' bash '{}/scripts/quickstart.sh'",
      work, TRELLIS_BINARY_DIR, tiny, TRELLIS_SOURCE_DIR);
  auto r = trellis::testing::run_command(cmd);
  INFO(r.output.substr(r.output.size() > 6000 ? r.output.size() - 6000 : 0));
  REQUIRE(r.exit_code == 0);

  // The summary after "==> done": the WER line of generate, then where everything is.
  const size_t done = r.output.rfind("==> done");
  REQUIRE(done != std::string::npos);
  const std::string summary = r.output.substr(done);
  CHECK(std::regex_search(summary, std::regex("Generate test with beam=5: WER: [0-9]+\\.[0-9]+")));
  for (const char* what :
       {"checkpoints:", "logs:", "plots:", "train.log", "metrics.jsonl", "training_curves.svg"})
    CHECK_THAT(summary, Catch::Contains(what));
  CHECK_THAT(r.output, Catch::Contains("TRELLIS_QUICKSTART_SKIP_SETUP=1"));
  CHECK_THAT(r.output, !Catch::Contains("[install_deps]"));

  for (const char* f : {"checkpoints/checkpoint_best.pt", "checkpoints/checkpoint_last.pt",
                        "checkpoints/metrics.jsonl", "train.log", "decode/generate-test.txt",
                        "data/train.tsv", "data/test.tsv", "plots/training_curves.svg"})
    CHECK(fs::exists(fs::path(work) / f));
  std::ifstream in(fs::path(work) / "plots/training_curves.svg");
  std::stringstream svg;
  svg << in.rdbuf();
  CHECK(trellis::testing::svg_problem(svg.str()).empty());
  CHECK(trellis::testing::svg_polylines(svg.str()).size() >= 3);  // loss, wer, lr panels
  CHECK_THAT(svg.str(), Catch::Contains("quickstart: conformer CTC on 40 espeak-ng utterances"));

  // A relaunch resumes the finished job: nothing to train, same summary.
  r = trellis::testing::run_command(cmd);
  INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("nothing to train"));
  CHECK_THAT(r.output, Catch::Contains("WER: "));
}
