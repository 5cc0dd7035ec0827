// noam: NeMo's NoamAnnealing at the NEST settings (lr 5, d_model 512, warm-up 25000,
// min_lr 1e-6) against numbers worked out beforehand, the floor (only after warm-up), no warm-up,
// the update offset (step_update(n) = the LR of update n + 1 = NeMo's step max(1, n)), resume.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/interfaces/lr_scheduler.h"
#include "optim_test_utils.h"

using namespace trellis;
using trellis::testing::make_scheduler;

namespace {

LrSchedulerContext lr_of(double lr) {
  LrSchedulerContext ctx;
  ctx.lr = {lr};
  return ctx;
}

bool close(double got, double want) { return std::abs(got - want) <= 1e-12 * std::abs(want); }

}  // namespace

TEST_CASE("noam follows NeMo's NoamAnnealing at the NEST settings", "[unit][lr_scheduler]") {
  auto s = make_scheduler("noam",
                          {{"warmup_updates", 25000}, {"noam_d_model", 512}, {"min_lr", 1e-6}},
                          lr_of(5.0));
  // step 1: 5 / sqrt(512) * 1 * 25000^-1.5 = 5 / (22.6274... * 3952847.07...)
  const double step1 = 5.590169943749474e-08;
  CHECK(close(s->lr(), step1));  // the constructor sets update 1's LR
  CHECK(close(s->step_update(0), step1));
  CHECK(close(s->step_update(1), step1));  // NeMo clamps its step count to >= 1
  CHECK(close(s->step_update(2), 2 * step1));
  CHECK(close(s->step_update(100), 100 * step1));
  // peak at the end of warm-up: 5 / sqrt(512) / sqrt(25000) = 5 / 3577.7087...
  CHECK(close(s->step_update(25000), 1.3975424859373686e-3));
  CHECK(close(s->step_update(25000), 5.0 / std::sqrt(512.0 * 25000.0)));
  // 2 * warm-up: 5 / sqrt(512 * 50000)
  CHECK(close(s->step_update(50000), 9.882117688026187e-4));
  // 500k updates: 5 / sqrt(512 * 5e5) = 3.125e-4, far above the floor
  CHECK(close(s->step_update(500000), 3.125e-4));
  CHECK(s->step(3, 1.0) == s->lr());  // epoch boundaries leave it alone
}

TEST_CASE("noam's floor applies only after warm-up", "[unit][lr_scheduler]") {
  // lr 1, d 4 (scale 0.5), W 4, min_lr 0.1
  auto s = make_scheduler("noam", {{"warmup_updates", 4}, {"noam_d_model", 4}, {"min_lr", 0.1}},
                          lr_of(1.0));
  CHECK(close(s->step_update(1), 0.0625));  // 0.5 * 1 * 4^-1.5 = 0.5 / 8: below min_lr, kept
  CHECK(close(s->step_update(2), 0.125));
  CHECK(close(s->step_update(4), 0.25));      // peak 0.5 / sqrt(4)
  CHECK(close(s->step_update(16), 0.125));    // 0.5 / 4
  CHECK(close(s->step_update(25), 0.1));      // 0.5 / 5
  CHECK(close(s->step_update(36), 0.1));      // 0.5 / 6 = 0.0833 -> floored
  CHECK(close(s->step_update(10000), 0.1));
  // without warm-up: 0.5 / sqrt(s), floored from step 1 on
  auto nw = make_scheduler("noam", {{"warmup_updates", 0}, {"noam_d_model", 4}, {"min_lr", 0.2}},
                           lr_of(1.0));
  CHECK(close(nw->step_update(0), 0.5));
  CHECK(close(nw->step_update(4), 0.25));
  CHECK(close(nw->step_update(9), 0.2));  // 0.1667 floored
}

TEST_CASE("noam resumes from num_updates and checks its options", "[unit][lr_scheduler]") {
  auto a = make_scheduler("noam", {{"warmup_updates", 10}, {"noam_d_model", 16}}, lr_of(2.0));
  for (int64_t n = 0; n < 30; ++n) a->step_update(n);
  auto b = make_scheduler("noam", {{"warmup_updates", 10}, {"noam_d_model", 16}}, lr_of(2.0));
  b->load_state_dict(a->state_dict());
  CHECK(b->step_update(29) == a->lr());
  CHECK_THROWS_AS(make_scheduler("noam", {{"min_lr", 1.0}}, lr_of(0.5)), ConfigError);
  CHECK_THROWS_AS(make_scheduler("noam", {{"noam_d_model", 0}}, lr_of(0.5)), ConfigError);
  CHECK_THROWS_AS(make_scheduler("noam", {{"warmup_updates", -1}}, lr_of(0.5)), ConfigError);
  LrSchedulerContext two;
  two.lr = {1.0, 2.0};
  CHECK_THROWS_AS(make_scheduler("noam", nlohmann::json::object(), two), ConfigError);
}
