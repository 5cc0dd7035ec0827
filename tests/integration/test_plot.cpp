// The real `plot` binary on the metrics.jsonl of a real short training run (train_corpus.h),
// and its exit codes on bad input.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "svg_check.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of the file containing `needle`.
size_t count_lines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE("plot: the curves of a real training run", "[integration][plot]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string dir = trellis::testing::fresh_dir("plot_run");
  // Two epochs: train_inner lines every 2 updates, epoch summaries, dev every 3 updates.
  auto r = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --lr-scheduler inverse_sqrt --warmup-updates 4 --max-tokens 1500 --max-epoch 2 "
      "--log-format simple --log-interval 2 --valid-subset dev --validate-interval-updates 3 "
      "--best-checkpoint-metric wer --save-dir {} --no-epoch-checkpoints --encoder-layers 1 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1",
      bin("train"), data, dir));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string metrics = dir + "/metrics.jsonl";
  REQUIRE(fs::exists(metrics));
  const size_t inner = count_lines(metrics, "\"tag\":\"train_inner\"");
  const size_t epochs = count_lines(metrics, "\"tag\":\"train\"");
  const size_t dev = count_lines(metrics, "\"tag\":\"dev\"");
  REQUIRE(inner >= 2);
  REQUIRE(epochs == 2);
  REQUIRE(dev >= 2);

  // The save dir as input: metrics.svg next to metrics.jsonl.
  r = run_command(bin("plot") + " " + dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("wrote " + dir + "/metrics.svg"));
  const std::string svg = read(dir + "/metrics.svg");
  CHECK(trellis::testing::svg_problem(svg).empty());
  const auto lines = trellis::testing::svg_polylines(svg);
  // loss: train, train (epoch), dev; wer: dev; lr: one curve.
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].label == "train");
  CHECK(lines[0].points == inner);
  CHECK(lines[1].label == "train (epoch)");
  CHECK(lines[1].points == epochs);
  CHECK(lines[2].label == "dev");
  CHECK(lines[2].points == dev);
  CHECK(lines[3].label == "dev");
  CHECK(lines[3].points == dev);
  CHECK(lines[4].label == "lr");
  CHECK(lines[4].points >= inner);
  for (const char* label : {">updates</text>", ">loss</text>", ">wer</text>", ">WER (%)</text>",
                            ">learning rate</text>"})
    CHECK_THAT(svg, Catch::Contains(label));

  // The file as input, chosen metrics, log-scale LR, another output.
  r = run_command(bin("plot") + " " + metrics + " -o " + dir + "/out/lr.svg --metrics lr,gnorm " +
                  "--log-y lr --title 'run <1>'");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string lr_svg = read(dir + "/out/lr.svg");
  CHECK(trellis::testing::svg_problem(lr_svg).empty());
  CHECK(trellis::testing::svg_polylines(lr_svg).size() == 3);  // lr; gnorm: train, epoch
  CHECK_THAT(lr_svg, Catch::Contains("run &lt;1&gt;") && Catch::Contains("lr (log scale)"));
}

TEST_CASE("plot: bad input names the file and line; exit codes", "[integration][plot]") {
  const std::string dir = trellis::testing::fresh_dir("plot_errors");
  std::ofstream(dir + "/metrics.jsonl")
      << "{\"tag\":\"train_inner\",\"loss\":5,\"num_updates\":1,\"lr\":0.001}\n"
      << "{\"tag\":\"train_inner\",\"loss\":4,\"num_updates\":2,\"lr\":0.001}\n"
      << "{\"tag\":\"train_inner\",\"loss\":3,\"num_upd\n"
      << "{\"tag\":\"train_inner\",\"loss\":2,\"num_updates\":4,\"lr\":0.001}\n";
  auto r = run_command(bin("plot") + " " + dir);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("plot: error: " + dir + "/metrics.jsonl:3: not valid JSON"));
  CHECK(!fs::exists(dir + "/metrics.svg"));

  r = run_command(bin("plot") + " " + dir + "/nowhere");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains(dir + "/nowhere: no such file or folder"));
  r = run_command(bin("plot") + " /");
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("no metrics.jsonl in this folder"));

  std::ofstream(dir + "/ok.jsonl") << "{\"tag\":\"train_inner\",\"loss\":5,\"num_updates\":1}\n";
  r = run_command(bin("plot") + " " + dir + "/ok.jsonl --metrics loss,bleu");
  CHECK(r.exit_code == 2);  // a bad option value: ConfigError
  CHECK_THAT(r.output, Catch::Contains("--metrics bleu:") && Catch::Contains("loss, num_updates"));
  r = run_command(bin("plot") + " " + dir + "/ok.jsonl -o plot.png");
  CHECK(r.exit_code == 2);
  r = run_command(bin("plot") + " " + dir + "/ok.jsonl --no-such-flag");
  CHECK(r.exit_code == 2);
  r = run_command(bin("plot") + " --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("SAVE_DIR_OR_JSONL"));
  // The default metrics the file lacks (wer, lr) are warnings.
  r = run_command(bin("plot") + " " + dir + "/ok.jsonl");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("warning: ") && Catch::Contains("no 'wer' values"));
  CHECK(fs::exists(dir + "/ok.svg"));
}
