// core/checkpoint_average.h and build/bin/average_checkpoints: fairseq's average_checkpoints.py
// (the mean of the model tensors, the other fields from the first input, last-N selection).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/checkpoint.h"
#include "core/checkpoint_average.h"
#include "core/error.h"
#include "run_command.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

// A small checkpoint: w [2, 3] float32, h [2] float16, n [3] int64, b [2] bool.
CheckpointState state_with(const at::Tensor& w, const at::Tensor& h, const at::Tensor& n,
                           const at::Tensor& b, int64_t num_updates) {
  CheckpointState s;
  s.task = "speech_to_text_ctc";
  s.arch = "conformer_ctc";
  s.num_updates = num_updates;
  s.train_iterator.epoch = num_updates;
  s.model = {{"enc.w", w}, {"enc.h", h}, {"bn.num_batches_tracked", n}, {"mask", b}};
  s.optimizer_state = {{"step", torch::tensor(static_cast<double>(num_updates))}};
  s.task_state = {{"tgt_dict", "a 1\n"}};
  return s;
}

CheckpointState state_a() {
  return state_with(torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).reshape({2, 3}),
                    torch::tensor({1.0f, 2.5f}).to(torch::kHalf),
                    torch::tensor({3, -3, 10}, torch::kLong), torch::tensor({true, true}), 100);
}

CheckpointState state_b() {
  return state_with(torch::tensor({3.0f, 0.0f, -3.0f, 1.0f, 1.5f, 0.25f}).reshape({2, 3}),
                    torch::tensor({2.0f, 0.5f}).to(torch::kHalf),
                    torch::tensor({4, 0, 11}, torch::kLong), torch::tensor({true, false}), 200);
}

void touch(const std::string& path) { std::ofstream(path) << "x"; }

std::string average_bin() { return "TRELLIS_NO_BLAS_REEXEC=1 " + testing::bin("average_checkpoints"); }

}  // namespace

TEST_CASE("average: the mean of two checkpoints' model tensors", "[unit][checkpoint]") {
  const std::string dir = testing::fresh_dir("avg_mean");
  save_checkpoint(state_a(), dir + "/a.pt");
  save_checkpoint(state_b(), dir + "/b.pt");
  const CheckpointState avg = average_checkpoints({dir + "/a.pt", dir + "/b.pt"});

  REQUIRE(avg.model.size() == 4);
  const at::Tensor w = avg.model.at("enc.w");
  CHECK(w.scalar_type() == torch::kFloat);
  CHECK(w.sizes() == torch::IntArrayRef({2, 3}));
  CHECK(torch::equal(w, torch::tensor({2.0f, 1.0f, 0.0f, 2.5f, 3.25f, 3.125f}).reshape({2, 3})));
  // float16 is summed in float32 and cast back.
  const at::Tensor h = avg.model.at("enc.h");
  CHECK(h.scalar_type() == torch::kHalf);
  CHECK(torch::equal(h, torch::tensor({1.5f, 1.5f}).to(torch::kHalf)));
  // Integers are floor-divided: (3+4)//2 = 3, (-3+0)//2 = -2, (10+11)//2 = 10.
  const at::Tensor n = avg.model.at("bn.num_batches_tracked");
  CHECK(n.scalar_type() == torch::kLong);
  CHECK(torch::equal(n, torch::tensor({3, -2, 10}, torch::kLong)));
  CHECK(torch::equal(avg.model.at("mask"), torch::tensor({true, false})));

  // Every other field is the first input's (fairseq's new_state).
  CHECK(avg.num_updates == 100);
  CHECK(avg.train_iterator.epoch == 100);
  CHECK(avg.arch == "conformer_ctc");
  CHECK(torch::equal(avg.optimizer_state.at("step"), torch::tensor(100.0)));
  CHECK(avg.task_state == state_a().task_state);
  CHECK(average_checkpoints({dir + "/b.pt", dir + "/a.pt"}).num_updates == 200);

  // One input is itself; three inputs divide by three.
  CHECK(torch::equal(average_checkpoints({dir + "/a.pt"}).model.at("enc.w"),
                     state_a().model.at("enc.w")));
  const CheckpointState three = average_checkpoints({dir + "/a.pt", dir + "/b.pt", dir + "/b.pt"});
  CHECK(torch::allclose(three.model.at("enc.w"),
                        (state_a().model.at("enc.w") + 2 * state_b().model.at("enc.w")) / 3));
  CHECK(torch::equal(three.model.at("bn.num_batches_tracked"),
                     torch::tensor({3, -1, 10}, torch::kLong)));  // 11//3, -3//3, 32//3
  CHECK_THROWS_AS(average_checkpoints({}), ConfigError);
}

TEST_CASE("average: mismatched keys, shapes or dtypes name the file", "[unit][checkpoint]") {
  const std::string dir = testing::fresh_dir("avg_mismatch");
  save_checkpoint(state_a(), dir + "/a.pt");

  CheckpointState extra = state_b();
  extra.model["enc.extra"] = torch::zeros({1});
  extra.model.erase("mask");
  save_checkpoint(extra, dir + "/keys.pt");
  CHECK_THROWS_AS(average_checkpoints({dir + "/a.pt", dir + "/keys.pt"}), CheckpointError);
  CHECK_THROWS_WITH(average_checkpoints({dir + "/a.pt", dir + "/keys.pt"}),
                    Catch::StartsWith(dir + "/keys.pt: ") && Catch::Contains("missing mask") &&
                        Catch::Contains("unexpected enc.extra"));

  CheckpointState shape = state_b();
  shape.model["enc.w"] = torch::zeros({3, 2});
  save_checkpoint(shape, dir + "/shape.pt");
  CHECK_THROWS_WITH(average_checkpoints({dir + "/a.pt", dir + "/shape.pt"}),
                    Catch::StartsWith(dir + "/shape.pt: ") && Catch::Contains("enc.w") &&
                        Catch::Contains("[3, 2]") && Catch::Contains("[2, 3]"));

  CheckpointState dtype = state_b();
  dtype.model["enc.w"] = dtype.model["enc.w"].to(torch::kDouble);
  save_checkpoint(dtype, dir + "/dtype.pt");
  CHECK_THROWS_WITH(average_checkpoints({dir + "/a.pt", dir + "/dtype.pt"}),
                    Catch::StartsWith(dir + "/dtype.pt: ") && Catch::Contains("enc.w"));

  CHECK_THROWS_WITH(average_checkpoints({dir + "/a.pt", dir + "/missing.pt"}),
                    Catch::Contains(dir + "/missing.pt"));
}

TEST_CASE("average: the last N epoch or update checkpoints of a folder", "[unit][checkpoint]") {
  const std::string dir = testing::fresh_dir("avg_select");
  for (const char* name :
       {"checkpoint1.pt", "checkpoint2.pt", "checkpoint9.pt", "checkpoint10.pt",
        "checkpoint_last.pt", "checkpoint_best.pt", "checkpoint.best_loss_1.23.pt",
        "checkpoint_1_500.pt", "checkpoint_2_1000.pt", "checkpoint_2_1500.pt",
        "checkpoint_3_10000.pt", "checkpoint3.pt.bak", "notes.txt"})
    touch(dir + "/" + name);
  fs::create_directories(dir + "/checkpoint11.pt");  // a folder is not a checkpoint
  const auto in = [&](std::vector<std::string> names) {
    for (auto& n : names) n = (fs::path(dir) / n).string();
    return names;
  };

  // Sorted by number (10 > 9, not by name), newest first.
  CHECK(select_checkpoints(dir, 3, 0, std::nullopt) ==
        in({"checkpoint10.pt", "checkpoint9.pt", "checkpoint2.pt"}));
  CHECK(select_checkpoints(dir, 2, 0, 9) == in({"checkpoint9.pt", "checkpoint2.pt"}));
  CHECK(select_checkpoints(dir, 2, 0, 8) == in({"checkpoint2.pt", "checkpoint1.pt"}));
  CHECK(select_checkpoints(dir, 0, 2, std::nullopt) ==
        in({"checkpoint_3_10000.pt", "checkpoint_2_1500.pt"}));
  CHECK(select_checkpoints(dir, 0, 3, 1500) ==
        in({"checkpoint_2_1500.pt", "checkpoint_2_1000.pt", "checkpoint_1_500.pt"}));

  // Fewer than N: the folder and what was found.
  CHECK_THROWS_AS(select_checkpoints(dir, 5, 0, std::nullopt), CheckpointError);
  CHECK_THROWS_WITH(select_checkpoints(dir, 5, 0, std::nullopt),
                    Catch::Contains(dir) && Catch::Contains("found 4") &&
                        Catch::Contains("checkpoint10.pt, checkpoint9.pt"));
  CHECK_THROWS_WITH(select_checkpoints(dir, 0, 4, 1000),
                    Catch::Contains(dir) && Catch::Contains("U <= 1000") &&
                        Catch::Contains("found 2") &&
                        Catch::Contains("above --checkpoint-upper-bound"));
  const std::string empty = testing::fresh_dir("avg_select_empty");
  touch(empty + "/checkpoint_last.pt");
  CHECK_THROWS_WITH(select_checkpoints(empty, 1, 0, std::nullopt),
                    Catch::Contains(empty) && Catch::Contains("found none") &&
                        Catch::Contains("checkpoint_last.pt"));
  CHECK_THROWS_WITH(select_checkpoints(dir + "/nope", 1, 0, std::nullopt),
                    Catch::Contains(dir + "/nope") && Catch::Contains("not a folder"));
  CHECK_THROWS_AS(select_checkpoints(dir, 2, 2, std::nullopt), ConfigError);
  CHECK_THROWS_AS(select_checkpoints(dir, 0, 0, std::nullopt), ConfigError);
}

TEST_CASE("average_checkpoints: the binary averages saved checkpoints",
          "[integration][checkpoint]") {
  const std::string dir = testing::fresh_dir("avg_bin");
  const std::string save = dir + "/save";
  fs::create_directories(save);
  // checkpoint1..3.pt with enc.w = epoch * ones, num_batches_tracked = epoch.
  for (int64_t e = 1; e <= 3; ++e) {
    CheckpointState s = state_a();
    s.model["enc.w"] = torch::full({2, 3}, static_cast<float>(e));
    s.model["bn.num_batches_tracked"] = torch::tensor({e}, torch::kLong);
    s.num_updates = e * 10;
    save_checkpoint(s, save + "/checkpoint" + std::to_string(e) + ".pt");
    save_checkpoint(s, save + "/checkpoint_" + std::to_string(e) + "_" + std::to_string(e * 10) +
                           ".pt");
  }
  copy_checkpoint(save + "/checkpoint3.pt", save + "/checkpoint_last.pt");

  SECTION("the last N epoch checkpoints of a folder") {
    const auto r = testing::run_command(average_bin() + " --inputs " + save +
                                        " --num-epoch-checkpoints 2 --output " + dir + "/avg.pt");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains(save + "/checkpoint3.pt") &&
                             Catch::Contains(save + "/checkpoint2.pt") &&
                             !Catch::Contains("checkpoint1.pt") && Catch::Contains("wrote"));
    const CheckpointState avg = load_checkpoint(dir + "/avg.pt");
    CHECK(torch::equal(avg.model.at("enc.w"), torch::full({2, 3}, 2.5f)));
    CHECK(torch::equal(avg.model.at("bn.num_batches_tracked"), torch::tensor({2}, torch::kLong)));
    CHECK(avg.num_updates == 30);  // the first input, the newest
    std::vector<std::string> left;
    for (const auto& e : fs::directory_iterator(dir)) left.push_back(e.path().filename());
    std::sort(left.begin(), left.end());
    CHECK(left == std::vector<std::string>{"avg.pt", "save"});  // no temporary left
  }
  SECTION("update checkpoints with an upper bound") {
    const auto r = testing::run_command(average_bin() + " --inputs " + save +
                                        " --num-update-checkpoints 2 --checkpoint-upper-bound 20 "
                                        "--output " + dir + "/avg.pt");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("checkpoint_2_20.pt") &&
                             Catch::Contains("checkpoint_1_10.pt"));
    const CheckpointState avg = load_checkpoint(dir + "/avg.pt");
    CHECK(torch::equal(avg.model.at("enc.w"), torch::full({2, 3}, 1.5f)));
    CHECK(avg.num_updates == 20);
  }
  SECTION("files in the order given") {
    const auto r = testing::run_command(average_bin() + " --inputs " + save + "/checkpoint1.pt " +
                                        save + "/checkpoint2.pt " + save + "/checkpoint_last.pt " +
                                        "--output " + dir + "/avg.pt");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const CheckpointState avg = load_checkpoint(dir + "/avg.pt");
    CHECK(torch::equal(avg.model.at("enc.w"), torch::full({2, 3}, 2.0f)));
    CHECK(avg.num_updates == 10);  // the first given
  }
  SECTION("bad flags exit 2, missing checkpoints 1") {
    const std::string out = " --output " + dir + "/avg.pt";
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"--inputs " + save, "--output"},  // no --output
        {"--output " + dir + "/avg.pt", "--inputs"},
        {"--inputs " + save + " --num-epoch-checkpoints 2 --num-update-checkpoints 2" + out,
         "excludes"},
        {"--inputs " + save + "/checkpoint1.pt --checkpoint-upper-bound 3" + out,
         "--checkpoint-upper-bound requires"},
        {"--inputs " + save + out, "is a folder"},
        {"--inputs " + save + "/checkpoint1.pt --num-epoch-checkpoints 1" + out, "one folder"},
        {"--inputs " + save + " --num-epoch-checkpoints 0" + out, "at least 1"},
        {"--inputs " + save + " --num-epoch-checkpoints two" + out, "two"},
        {"--inputs " + save + "/checkpoint1.pt --output " + save, "is a folder"},
    };
    for (const auto& [flags, message] : bad) {
      const auto r = testing::run_command(average_bin() + " " + flags);
      INFO(flags << "\n" << r.output);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.output, Catch::Contains(message));
    }
    auto r = testing::run_command(average_bin() + " --inputs " + save +
                                  " --num-epoch-checkpoints 4" + out);
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("average_checkpoints: error:") && Catch::Contains(save) &&
                             Catch::Contains("found 3"));
    r = testing::run_command(average_bin() + " --inputs " + save + "/checkpoint1.pt " + dir +
                             "/none.pt" + out);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains(dir + "/none.pt"));
    CHECK(!fs::exists(dir + "/avg.pt"));
    CHECK(testing::run_command(average_bin() + " --help").exit_code == 0);
  }
}
