// The real `train` binary where fairseq has a footgun or a user makes a mistake: a missing
// --restore-file, a checkpoint of another architecture, a data position taken with other
// batches; and the json log format and CPU bf16 autocast.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "core/checkpoint.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

// A tiny CTC run on the test corpus; `extra` is appended (later flags win).
std::string tiny(const std::string& data, const std::string& save, const std::string& extra) {
  return fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --log-format simple --log-interval 1 --valid-subset dev "
      "--save-dir {} --encoder-layers 1 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
      "--encoder-attention-heads 2 --conv-channels 32 --threads 1 {}",
      bin("train"), data, save, extra);
}

}  // namespace

TEST_CASE("train: a missing --restore-file is an error, not a silent fresh start",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_restore_missing");
  auto r = run_command(tiny(data, dir, "--max-update 1 --restore-file " + dir + "/nope.pt"));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find(dir + "/nope.pt: no such file") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/checkpoint_last.pt"));
}

TEST_CASE("train: a checkpoint of another model is refused with the keys listed",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_arch_mismatch");
  REQUIRE(run_command(tiny(data, dir + "/a", "--max-update 1")).exit_code == 0);
  const auto before = fs::last_write_time(dir + "/a/checkpoint_last.pt");
  // Same save dir, two encoder layers instead of one.
  auto r = run_command(tiny(data, dir + "/a", "--max-update 2 --encoder-layers 2"));
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("does not fit this model") != std::string::npos);
  CHECK(r.output.find("missing keys: encoder.conformer_layers.1.") != std::string::npos);
  // What was written stays as it was.
  CHECK(fs::last_write_time(dir + "/a/checkpoint_last.pt") == before);
  CHECK(trellis::load_checkpoint(dir + "/a/checkpoint_last.pt").num_updates == 1);
}

TEST_CASE("train: a data position taken with other batches restarts its epoch with a warning",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_position");
  REQUIRE(run_command(tiny(data, dir, "--max-update 2")).exit_code == 0);
  auto saved = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  REQUIRE(saved.train_iterator.iterations_in_epoch == 2);
  auto r = run_command(tiny(data, dir, "--max-update 3 --max-tokens 1500"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("belongs to other training batches") != std::string::npos);
  CHECK(r.output.find("restarting epoch 1 from its first batch") != std::string::npos);
  auto after = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  CHECK(after.num_updates == 3);
  CHECK(after.train_iterator.iterations_in_epoch == 1);  // one batch into the restarted epoch
  CHECK(after.train_batches_fingerprint != saved.train_batches_fingerprint);
}

TEST_CASE("train: --log-format json lines and metrics.jsonl; --bf16 trains on the CPU",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_json_bf16");
  auto r = run_command(tiny(data, dir, "--max-update 2 --log-format json --bf16"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  int inner = 0;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    auto brace = line.find("{\"epoch\"");
    if (line.find("train_inner") == std::string::npos || brace == std::string::npos) continue;
    auto j = nlohmann::json::parse(line.substr(brace));
    CHECK(j.contains("loss"));
    CHECK(j.contains("gnorm"));
    CHECK(std::isfinite(std::stod(j["loss"].get<std::string>())));  // fairseq: strings
    ++inner;
  }
  CHECK(inner == 2);
  int records = 0;
  std::ifstream metrics(dir + "/metrics.jsonl");
  for (std::string line; std::getline(metrics, line); ++records)
    CHECK(nlohmann::json::parse(line).contains("tag"));
  CHECK(records >= 3);  // two train_inner, a validation, the epoch is not over
}
