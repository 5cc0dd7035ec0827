// Trainer::train_step on a toy task: gradient normalisation by the summed sample size, gnorm
// before clipping, non-finite updates skipped and bounded, per-update torch seeds.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/logging.h"
#include "core/train/trainer.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"
#include "tasks/speech_batch.h"
#include "tests/forward_only_task.h"

namespace {

using namespace trellis;

// One parameter w (3,), initialised to 1.
class ToyModel : public Model {
 public:
  ToyModel() { w = register_parameter("w", torch::ones({3})); }
  at::Tensor w;
};

class ToyCriterion : public Criterion {
 public:
  LossOutput forward(const NetOutput&, const CriterionTargets&) override { return {}; }
  Stats reduce_scalars(const StatSums& s) const override {
    return {{"loss", stat_sum(s, "loss"), 3}};
  }
};

// loss = sum over rows of (w . x_row) * scale; sample_size = rows. src_tokens: (B, 3).
// A batch whose first src value is NaN gives a NaN loss. Records one torch::rand draw per
// forward (the dropout stand-in).
class ToyTask : public testing::ForwardOnlyTask {
 public:
  std::vector<double> draws;
  std::string note;  // the criterion's LossOutput::nonfinite_note on a non-finite loss
  LossOutput forward(Model& model, Criterion&, const TaskBatch& any) override {
    const auto& b = batch_cast<SpeechBatch>(any);
    draws.push_back(torch::rand({1}).item<double>());
    auto& toy = static_cast<ToyModel&>(model);
    LossOutput out;
    out.loss = (b.src_tokens * toy.w).sum();
    out.sample_size = static_cast<double>(b.size());
    out.stats = {{"loss", out.loss.item<double>()}};
    if (!std::isfinite(out.loss.item<double>())) out.nonfinite_note = note;
    return out;
  }
};

BatchPtr batch(std::vector<float> rows) {  // rows: B*3 values
  auto b = std::make_shared<SpeechBatch>();
  const int64_t n = static_cast<int64_t>(rows.size()) / 3;
  for (int64_t i = 0; i < n; ++i) {
    b->indices.push_back(i);
    b->ids.push_back(fmt::format("utt{}", i));
  }
  b->src_tokens = torch::tensor(rows).reshape({n, 3});
  b->ntokens = n;
  return b;
}

struct Rig {
  ToyTask task;
  ToyModel model;
  ToyCriterion criterion;
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<LrScheduler> scheduler;
  std::unique_ptr<Trainer> trainer;

  explicit Rig(TrainerOptions o, double lr = 0.1) {
    optimizer = optimizer_registry().create("sgd", optimizer_registry().make_options("sgd"),
                                            std::vector<at::Tensor>{model.w},
                                            OptimizerContext{lr});
    LrSchedulerContext sctx;
    sctx.lr = {lr};
    scheduler = lr_scheduler_registry().create(
        "fixed", lr_scheduler_registry().make_options("fixed"), sctx);
    trainer = std::make_unique<Trainer>(task, model, criterion, *optimizer, *scheduler, o);
    trainer->set_num_updates(0);
  }
};

}  // namespace

TEST_CASE("trainer: gradients are divided by the update's summed sample size",
          "[unit][train]") {
  Rig rig(TrainerOptions{});
  // Two micro-batches: 1 row (1,2,3) and 2 rows (1,1,1),(0,0,3): grad = (2,3,7) / 3.
  auto rec = rig.trainer->train_step({batch({1, 2, 3}), batch({1, 1, 1, 0, 0, 3})});
  REQUIRE(rec.gnorm);
  const double g[3] = {2.0 / 3, 1.0, 7.0 / 3};
  CHECK(*rec.gnorm == Approx(std::sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2])));
  for (int i = 0; i < 3; ++i) CHECK(rig.model.w[i].item<double>() == Approx(1.0 - 0.1 * g[i]));
  CHECK(rig.trainer->num_updates() == 1);
  CHECK(rec.nsentences == 3);
  CHECK(rec.stats.at("loss") == Approx(6 + 1 + 1 + 1 + 3));
  CHECK_FALSE(rec.clipped);
}

TEST_CASE("trainer: --clip-norm scales the gradient, gnorm is logged before clipping",
          "[unit][train]") {
  TrainerOptions o;
  o.clip_norm = 1.0;
  Rig rig(o, 1.0);
  auto rec = rig.trainer->train_step({batch({3, 0, 4})});  // grad (3,0,4), norm 5
  REQUIRE(rec.gnorm);
  CHECK(*rec.gnorm == Approx(5.0));
  CHECK(rec.clipped);
  const double coef = 1.0 / (5.0 + 1e-6);
  CHECK(rig.model.w[0].item<double>() == Approx(1.0 - 3 * coef));
  CHECK(rig.model.w[2].item<double>() == Approx(1.0 - 4 * coef));
}

TEST_CASE("trainer: a non-finite loss skips the update; too many in a row is an error",
          "[unit][train]") {
  TrainerOptions o;
  o.max_nonfinite_updates = 2;
  Rig rig(o);
  rig.trainer->train_step({batch({1, 1, 1})});
  auto before = rig.model.w.clone();
  auto rec = rig.trainer->train_step({batch({NAN, 1, 1})});
  CHECK_FALSE(rec.gnorm);
  CHECK(rig.trainer->num_updates() == 1);
  CHECK(torch::equal(before, rig.model.w));
  rig.trainer->train_step({batch({1, 1, 1})});  // a good update resets the count
  CHECK(rig.trainer->num_updates() == 2);
  rig.trainer->train_step({batch({NAN, 1, 1})});
  rig.trainer->train_step({batch({INFINITY, 1, 1})});
  CHECK_THROWS_WITH(rig.trainer->train_step({batch({NAN, 1, 1})}),
                    Catch::Contains("3 updates in a row") &&
                        Catch::Contains("--max-nonfinite-updates"));
}

TEST_CASE("trainer: the non-finite warning names the batch's utterances and the criterion's note",
          "[unit][train]") {
  const auto log = std::filesystem::temp_directory_path() / "trellis_trainer_nonfinite.log";
  std::filesystem::remove(log);
  Rig rig(TrainerOptions{});
  rig.task.note = "CTC-infeasible: 'utt1'. Train with --zero-infinity";
  trellis::log::set_file(log.string());
  rig.trainer->train_step({batch({NAN, 1, 1, 2, 2, 2})});
  rig.task.note.clear();
  std::vector<float> many(3 * 10, 1.0f);
  many[0] = INFINITY;
  rig.trainer->train_step({batch(many)});
  trellis::log::set_file("");
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  CHECK(text.find("update 1 skipped: non-finite loss (1 in a row; the limit is 10); the "
                  "micro-batch with the non-finite loss holds utterances 'utt0', 'utt1'. "
                  "CTC-infeasible: 'utt1'. Train with --zero-infinity") != std::string::npos);
  // Without a note: the first 8 ids, the count of the others, and the general causes.
  CHECK(text.find("'utt6', 'utt7' (and 2 more). A sample the loss cannot be computed for, or a "
                  "diverging model") != std::string::npos);
}

TEST_CASE("trainer: the torch seed of update k is seed + k (reproducible after a resume)",
          "[unit][train]") {
  TrainerOptions o;
  o.seed = 5;
  Rig a(o), b(o);
  for (int i = 0; i < 3; ++i) a.trainer->train_step({batch({1, 1, 1})});
  b.trainer->set_num_updates(2);  // a resumed run at update 2
  b.trainer->train_step({batch({1, 1, 1})});
  REQUIRE(a.task.draws.size() == 3);
  CHECK(a.task.draws[2] == b.task.draws[0]);
  CHECK(a.task.draws[0] != a.task.draws[1]);
}
