// A checkpoint write that fails midway (a full disk, injected through the atomic writer's seam
// TRELLIS_FAULT_WRITE_AFTER_BYTES, core/checkpoint.cpp) leaves the previous checkpoint byte for
// byte intact, leaves no temporary file, and says which file failed and why (issue 20).
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "core/error.h"
#include "integration/train_corpus.h"
#include "run_command.h"
#include "skip.h"

namespace fs = std::filesystem;
using namespace trellis;
using Catch::Matchers::Contains;

namespace {

std::string file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

CheckpointState state(int64_t updates, int64_t seed) {
  CheckpointState s;
  s.config_yaml = "task: x\n";
  s.task = "t", s.arch = "a", s.criterion = "c", s.optimizer = "o", s.lr_scheduler = "l";
  torch::manual_seed(seed);
  s.model = {{"w", torch::randn({64, 64})}};
  s.num_updates = updates;
  s.rng_state = torch::zeros({4}, torch::kUInt8);
  return s;
}

struct FaultEnv {  // sets the seam for one scope
  explicit FaultEnv(const std::string& v) {
    ::setenv("TRELLIS_FAULT_WRITE_AFTER_BYTES", v.c_str(), 1);
  }
  ~FaultEnv() { ::unsetenv("TRELLIS_FAULT_WRITE_AFTER_BYTES"); }
};

}  // namespace

TEST_CASE("checkpoint: a write failing midway (disk full) keeps the previous file",
          "[unit][checkpoint][reliability]") {
  const fs::path dir =
      fs::temp_directory_path() / ("trellis_test_ckpt_fault_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path last = dir / "checkpoint_last.pt", copy = dir / "checkpoint_best.pt";
  save_checkpoint(state(10, 1), last.string());
  copy_checkpoint(last.string(), copy.string());
  const std::string before = file_text(last);
  REQUIRE(before.size() > 16384);

  for (const char* after : {"0", "1000", "16384"}) {
    INFO("TRELLIS_FAULT_WRITE_AFTER_BYTES=" << after);
    FaultEnv fault(after);
    CHECK_THROWS_AS(save_checkpoint(state(20, 2), last.string()), Error);
    CHECK_THROWS_WITH(save_checkpoint(state(20, 2), last.string()),
                      Contains(last.string()) && Contains("No space left on device") &&
                          Contains(std::string("after ") + after + " bytes") &&
                          Contains("previous file") && Contains("kept"));
    CHECK_THROWS_WITH(copy_checkpoint(last.string(), copy.string()),
                      Contains(copy.string()) && Contains("No space left on device"));
    CHECK(file_text(last) == before);
    CHECK(file_text(copy) == before);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"checkpoint_best.pt", "checkpoint_last.pt"});
  }
  CHECK(load_checkpoint(last.string()).num_updates == 10);
  {
    FaultEnv big(std::to_string(before.size() * 4));  // a limit the write stays under
    save_checkpoint(state(30, 3), last.string());
  }
  CHECK(load_checkpoint(last.string()).num_updates == 30);
  {
    FaultEnv bad("lots");
    CHECK_THROWS_WITH(save_checkpoint(state(40, 4), last.string()),
                      Contains("TRELLIS_FAULT_WRITE_AFTER_BYTES=lots"));
  }
  CHECK(load_checkpoint(last.string()).num_updates == 30);
  fs::remove_all(dir);
}

TEST_CASE("train stops with a clear error when a checkpoint write fails, keeping the last one",
          "[integration][train][reliability]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_disk_full") + "/ckpt";
  const std::string train =
      trellis::testing::bin("train") + " " + data +
      " --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-attention-heads 2 --conv-channels 32 --valid-subset dev --save-dir " + dir;
  auto first = trellis::testing::run_command(train + " --max-update 1");
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const fs::path last = fs::path(dir) / "checkpoint_last.pt";
  const std::string before = file_text(last);
  REQUIRE(!before.empty());
  auto full = trellis::testing::run_command("TRELLIS_FAULT_WRITE_AFTER_BYTES=4096 " + train +
                                            " --max-update 2");
  INFO(full.output);
  CHECK(full.exit_code != 0);
  CHECK_THAT(full.output, Contains("writing checkpoint " + dir) &&
                              Contains("No space left on device") && Contains("kept"));
  CHECK(file_text(last) == before);
  CHECK(load_checkpoint(last.string()).num_updates == 1);
  auto relaunch = trellis::testing::run_command(train + " --max-update 2");
  INFO(relaunch.output);
  CHECK(relaunch.exit_code == 0);
  CHECK(load_checkpoint(last.string()).num_updates == 2);
}
