// core/checkpoint.h: the file round trip, atomic writes, errors that name the file and field,
// fairseq's file names and retention, and (when Debian's python3-torch is installed) Python's
// torch.load opening a checkpoint (tests/golden/check_checkpoint.py).
#include <catch2/catch.hpp>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/checkpoint.h"
#include "core/error.h"
#include "run_command.h"
#include "skip.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

CheckpointState sample_state() {
  CheckpointState s;
  s.config_yaml = "task: speech_to_text_ctc\n";
  s.task = "speech_to_text_ctc";
  s.arch = "conformer_ctc";
  s.criterion = "ctc";
  s.optimizer = "adam";
  s.lr_scheduler = "inverse_sqrt";
  s.plugins = {{"task:speech_to_text_ctc", "built-in"}};
  s.save_dir = "/tmp/save";
  torch::manual_seed(3);
  s.model = {{"encoder.w", torch::randn({4, 3})}, {"encoder.n", torch::tensor({7}, torch::kLong)}};
  s.optimizer_state = {{"state.0.exp_avg", torch::randn({4, 3})}, {"step", torch::tensor(5.0)}};
  s.lr_scheduler_state = {{"lr", 1e-3}, {"num_updates", 9}};
  s.num_updates = 9;
  s.train_iterator = {2, 3, 4, true};
  s.train_batches_fingerprint = "0123456789abcdef";
  s.val_loss = 1.5;
  s.best = std::nullopt;
  s.patience_runs = 2;
  s.meters = {{"steps", 4}, {"stat.loss", 12.5}};
  s.previous_training_time = 42.25;
  s.rng_state = torch::randint(0, 255, {16}, torch::kUInt8);
  s.task_state = {{"vocab", "a b c\n"}, {"spm_model", std::string("\x00\xff\xfe binary", 10)}};
  return s;
}

SaveRequest request(int64_t epoch, int64_t updates, bool end, std::optional<double> val,
                    bool best) {
  SaveRequest r;
  r.epoch = epoch;
  r.num_updates = updates;
  r.end_of_epoch = end;
  r.val = val;
  r.is_best = best;
  return r;
}

}  // namespace

TEST_CASE("checkpoint: every field survives a save and a load", "[unit][checkpoint]") {
  const std::string dir = trellis::testing::fresh_dir("ckpt_roundtrip");
  const CheckpointState s = sample_state();
  save_checkpoint(s, dir + "/c.pt");
  const CheckpointState t = load_checkpoint(dir + "/c.pt");
  CHECK(t.format_version == 1);
  CHECK(t.config_yaml == s.config_yaml);
  CHECK(t.task == s.task);
  CHECK(t.arch == s.arch);
  CHECK(t.criterion == s.criterion);
  CHECK(t.optimizer == s.optimizer);
  CHECK(t.lr_scheduler == s.lr_scheduler);
  CHECK(t.plugins == s.plugins);
  CHECK(t.save_dir == s.save_dir);
  REQUIRE(t.model.size() == 2);
  for (const auto& [k, v] : s.model) CHECK(torch::equal(v, t.model.at(k)));
  CHECK(t.model.at("encoder.n").scalar_type() == torch::kLong);
  REQUIRE(t.optimizer_state.size() == 2);
  for (const auto& [k, v] : s.optimizer_state) CHECK(torch::equal(v, t.optimizer_state.at(k)));
  CHECK(t.lr_scheduler_state == s.lr_scheduler_state);
  CHECK(t.num_updates == 9);
  CHECK(t.train_iterator.version == 2);
  CHECK(t.train_iterator.epoch == 3);
  CHECK(t.train_iterator.iterations_in_epoch == 4);
  CHECK(t.train_iterator.shuffle);
  CHECK(t.train_batches_fingerprint == "0123456789abcdef");
  CHECK(t.val_loss == std::optional<double>(1.5));
  CHECK(!t.best);
  CHECK(t.patience_runs == 2);
  CHECK(t.meters == s.meters);
  CHECK(t.previous_training_time == 42.25);
  CHECK(torch::equal(t.rng_state, s.rng_state));
  CHECK(t.task_state == s.task_state);  // the binary value too
}

TEST_CASE("checkpoint: a failed write leaves the old file and no temporary", "[unit][checkpoint]") {
  const std::string dir = trellis::testing::fresh_dir("ckpt_atomic");
  // The target is a non-empty folder: the final rename fails after the data was written.
  fs::create_directories(dir + "/busy.pt/inside");
  CHECK_THROWS_WITH(save_checkpoint(sample_state(), dir + "/busy.pt"),
                    Catch::Contains(dir + "/busy.pt") && Catch::Contains("kept"));
  CHECK(fs::is_directory(dir + "/busy.pt/inside"));
  // An existing checkpoint is replaced whole.
  save_checkpoint(sample_state(), dir + "/c.pt");
  CheckpointState s = sample_state();
  s.num_updates = 77;
  save_checkpoint(s, dir + "/c.pt");
  CHECK(load_checkpoint(dir + "/c.pt").num_updates == 77);
  copy_checkpoint(dir + "/c.pt", dir + "/d.pt");
  CHECK(load_checkpoint(dir + "/d.pt").num_updates == 77);
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.insert(e.path().filename());
  CHECK(files == std::set<std::string>{"busy.pt", "c.pt", "d.pt"});
}

TEST_CASE("checkpoint: broken files give errors naming the file and field", "[unit][checkpoint]") {
  const std::string dir = trellis::testing::fresh_dir("ckpt_broken");
  CHECK_THROWS_AS(load_checkpoint(dir + "/missing.pt"), CheckpointError);
  CHECK_THROWS_WITH(load_checkpoint(dir + "/missing.pt"), Catch::Contains("no such file"));

  save_checkpoint(sample_state(), dir + "/c.pt");
  const auto size = fs::file_size(dir + "/c.pt");
  fs::copy_file(dir + "/c.pt", dir + "/cut.pt");
  fs::resize_file(dir + "/cut.pt", size / 2);
  CHECK_THROWS_WITH(load_checkpoint(dir + "/cut.pt"),
                    Catch::Contains(dir + "/cut.pt") && Catch::Contains("not a readable"));

  auto write = [&](const c10::IValue& v, const std::string& name) {
    auto bytes = torch::pickle_save(v);
    std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), bytes.size());
    return dir + "/" + name;
  };
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("format_version", int64_t{1});
  CHECK_THROWS_WITH(load_checkpoint(write(d, "nocfg.pt")),
                    Catch::Contains("nocfg.pt") && Catch::Contains("field cfg is missing"));
  d.insert_or_assign("format_version", int64_t{99});
  CHECK_THROWS_WITH(load_checkpoint(write(d, "newer.pt")),
                    Catch::Contains("format version 99") && Catch::Contains("newer trellis"));
  CHECK_THROWS_WITH(load_checkpoint(write(c10::IValue(int64_t{3}), "int.pt")),
                    Catch::Contains("int.pt") && Catch::Contains("dictionary"));
}

TEST_CASE("checkpoint: fairseq's file names", "[unit][checkpoint]") {
  CheckpointNaming n;
  n.save_interval_updates = 1000;
  using V = std::vector<std::string>;
  // End of epoch 3, validated, best.
  CHECK(checkpoint_names(request(3, 5000, true, 1.2, true), n) ==
        V{"checkpoint3.pt", "checkpoint_best.pt", "checkpoint_last.pt"});
  // Mid-epoch at an interval, not best.
  CHECK(checkpoint_names(request(3, 6000, false, 1.4, false), n) ==
        V{"checkpoint_3_6000.pt", "checkpoint_last.pt"});
  // Mid-epoch off the interval (--max-update reached): only the last checkpoint.
  CHECK(checkpoint_names(request(3, 6001, false, std::nullopt, false), n) ==
        V{"checkpoint_last.pt"});
  n.save_interval = 2;
  n.keep_best_checkpoints = 2;
  n.best_checkpoint_metric = "wer";
  CHECK(checkpoint_names(request(3, 5000, true, 12.345, true), n) ==
        V{"checkpoint_best.pt", "checkpoint.best_wer_12.35.pt", "checkpoint_last.pt"});
  n.no_epoch_checkpoints = true;
  n.no_last_checkpoints = true;
  n.save_interval = 1;
  CHECK(checkpoint_names(request(4, 5000, true, 13.0, false), n).empty());
}

TEST_CASE("checkpoint: fairseq's retention", "[unit][checkpoint]") {
  const std::vector<std::string> existing = {
      "checkpoint1.pt", "checkpoint2.pt", "checkpoint10.pt", "checkpoint_1_100.pt",
      "checkpoint_1_200.pt", "checkpoint_2_1000.pt", "checkpoint_best.pt", "checkpoint_last.pt",
      "checkpoint.best_loss_3.10.pt", "checkpoint.best_loss_2.50.pt",
      "checkpoint.best_loss_2.90.pt", "config.yaml"};
  CheckpointNaming n;
  using S = std::set<std::string>;
  auto removed = [&](const SaveRequest& r) {
    auto v = checkpoints_to_remove(existing, r, n);
    return S(v.begin(), v.end());
  };
  CHECK(removed(request(2, 1000, false, 1.0, true)).empty());  // nothing asked
  n.keep_interval_updates = 2;
  CHECK(removed(request(2, 1000, false, 1.0, true)) == S{"checkpoint_1_100.pt"});
  CHECK(removed(request(2, 1000, true, 1.0, true)).empty());  // only pruned mid-epoch
  n.keep_interval_updates = -1;
  n.keep_last_epochs = 1;  // numeric order: 10 is the newest
  CHECK(removed(request(2, 1000, true, 1.0, true)) == S{"checkpoint1.pt", "checkpoint2.pt"});
  n.keep_last_epochs = -1;
  n.keep_best_checkpoints = 2;  // the two lowest losses stay
  CHECK(removed(request(2, 1000, true, 1.0, true)) == S{"checkpoint.best_loss_3.10.pt"});
  n.maximize_best_checkpoint_metric = true;
  CHECK(removed(request(2, 1000, true, 1.0, true)) == S{"checkpoint.best_loss_2.50.pt"});
}

TEST_CASE("checkpoint: Python's torch.load opens a trellis checkpoint",
          "[integration][checkpoint][python]") {
  if (testing::run_command("/usr/bin/python3 -c 'import torch'").exit_code != 0) {
    testing::skip_test("Debian's python3-torch is not installed (/usr/bin/python3 has no torch)");
  }
  const std::string dir = trellis::testing::fresh_dir("ckpt_python");
  save_checkpoint(sample_state(), dir + "/c.pt");
  auto r = testing::run_command("/usr/bin/python3 " + std::string(TRELLIS_SOURCE_DIR) +
                                "/tests/golden/check_checkpoint.py " + dir + "/c.pt");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("task=speech_to_text_ctc arch=conformer_ctc num_updates=9") !=
        std::string::npos);
  // The Python side saw the same tensor values.
  const auto w = sample_state().model.at("encoder.w");
  CHECK(r.output.find(fmt::format("encoder.w.sum={:.6f}", w.sum().item<double>())) !=
        std::string::npos);
  CHECK(r.output.find("spm_model=bytes[10]") != std::string::npos);
}
