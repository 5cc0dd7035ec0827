// Each schedule against its formula written out here (independently of the fixtures), state
// dict round trips, and ConfigError on bad options.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/interfaces/lr_scheduler.h"
#include "optim_test_utils.h"

using nlohmann::json;
using namespace trellis;
using trellis::testing::lr_context;
using trellis::testing::make_scheduler;

namespace {

#define CHECK_LR(got, want)                                                   \
  do {                                                                        \
    const double got_ = (got), want_ = (want);                                \
    INFO("got " << fmt::format("{:.17g}", got_) << ", want "                  \
                << fmt::format("{:.17g}", want_));                            \
    CHECK(trellis::testing::close(got_, want_, 1e-12));                       \
  } while (0)

const double kPi = std::acos(-1.0);

// A trainer-like sequence of calls; returns every LR the schedule handed out.
std::vector<double> drive(LrScheduler& s, int64_t first_epoch, int64_t epochs,
                          int64_t updates_per_epoch, const std::vector<double>& losses) {
  std::vector<double> out;
  for (int64_t e = first_epoch; e < first_epoch + epochs; ++e) {
    int64_t n = (e - 1) * updates_per_epoch;
    s.step_begin_epoch(e);
    out.push_back(s.step_update(n));
    for (int64_t k = 1; k <= updates_per_epoch; ++k) out.push_back(s.step_update(n + k));
    const size_t i = static_cast<size_t>(e - 1) % losses.size();
    out.push_back(s.step(e, losses[i]));
    out.push_back(s.step_update(n + updates_per_epoch));
    if (auto m = s.momentum()) out.push_back(*m);
  }
  return out;
}

}  // namespace

TEST_CASE("inverse_sqrt follows the seed formula", "[unit][lr_scheduler]") {
  // spec 5.3: lr(n) = 2e-3*n/25000 for n < 25000, 2e-3*sqrt(25000/n) after.
  auto s = make_scheduler("inverse_sqrt", {{"warmup_updates", 25000}}, lr_context({2e-3}));
  CHECK(s->lr() == 0.0);
  for (int64_t n : {0, 1, 777, 12500, 24999}) CHECK_LR(s->step_update(n), 2e-3 * n / 25000.0);
  for (int64_t n : {25000, 25001, 60000, 100000, 200000})
    CHECK_LR(s->step_update(n), 2e-3 * std::sqrt(25000.0 / n));
  CHECK(std::abs(s->step_update(500000) - 0.000447) < 1e-6);
  CHECK(s->step(3, 1.5) == s->lr());  // epoch boundaries leave it alone

  auto init = make_scheduler("inverse_sqrt", {{"warmup_updates", 100}, {"warmup_init_lr", 1e-7}},
                             lr_context({1e-3}));
  CHECK_LR(init->step_update(0), 1e-7);
  CHECK_LR(init->step_update(40), 1e-7 + 40 * (1e-3 - 1e-7) / 100);
  CHECK_LR(init->step_update(400), 1e-3 * std::sqrt(100.0 / 400.0));

  CHECK_THROWS_AS(make_scheduler("inverse_sqrt", json::object(), lr_context({1e-3, 1e-4})),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("inverse_sqrt", {{"warmup_updates", 0}}, lr_context({1e-3})),
                  ConfigError);
}

TEST_CASE("fixed: per-epoch LR list, force-anneal and warm-up", "[unit][lr_scheduler]") {
  const std::vector<double> lrs = {1e-3, 5e-4};
  auto expected_epoch_lr = [&](int64_t e) {
    if (e < 3) return lrs[std::min<size_t>(e - 1, lrs.size() - 1)];
    return lrs.back() * std::pow(0.5, e + 1 - 3);
  };
  auto s = make_scheduler("fixed", {{"force_anneal", 3}, {"lr_shrink", 0.5}}, lr_context(lrs));
  for (int64_t e = 1; e <= 6; ++e) {
    CHECK_LR(s->step_begin_epoch(e), expected_epoch_lr(e));
    CHECK_LR(s->step_update(10 * e), expected_epoch_lr(e));
  }
  // Without --force-anneal the last value stays.
  auto plain = make_scheduler("fixed", json::object(), lr_context({1e-3, 5e-4, 2e-4}));
  CHECK_LR(plain->step_begin_epoch(2), 5e-4);
  CHECK_LR(plain->step_begin_epoch(9), 2e-4);

  // Warm-up: factor (n + 1)/W while n < W; 1/W at an epoch start before any update.
  auto w = make_scheduler("fixed", {{"warmup_updates", 4}}, lr_context({1e-3}));
  CHECK_LR(w->step_begin_epoch(1), 1e-3 / 4);
  for (int64_t n = 0; n < 4; ++n) CHECK_LR(w->step_update(n), 1e-3 * (n + 1) / 4.0);
  CHECK_LR(w->step_update(4), 1e-3);
  CHECK_LR(w->step_update(50), 1e-3);

  CHECK_THROWS_AS(make_scheduler("fixed", {{"force_anneal", 0}}, lr_context({1e-3})), ConfigError);
  CHECK_THROWS_AS(make_scheduler("fixed", json::object(), lr_context({})), ConfigError);
}

TEST_CASE("polynomial_decay: warm-up, decay, end LR and compounding force-anneal",
          "[unit][lr_scheduler]") {
  const double lr = 1e-3, end = 1e-5;
  auto expected = [&](double base, int64_t n) {
    if (n <= 10) return base * n / 10.0;
    if (n >= 100) return end;
    return (base - end) * std::pow(1.0 - (n - 10) / 90.0, 2.0) + end;
  };
  json opts = {{"warmup_updates", 10}, {"total_num_update", 100}, {"end_learning_rate", end},
               {"power", 2.0}};
  auto s = make_scheduler("polynomial_decay", opts, lr_context({lr}));
  for (int64_t n : {0, 3, 10, 11, 55, 99, 100, 150}) CHECK_LR(s->step_update(n), expected(lr, n));

  // --total-num-update defaults to --max-update.
  opts.erase("total_num_update");
  auto d = make_scheduler("polynomial_decay", opts, lr_context({lr}, 100));
  for (int64_t n : {5, 40, 100}) CHECK_LR(d->step_update(n), expected(lr, n));
  CHECK_THROWS_AS(make_scheduler("polynomial_decay", opts, lr_context({lr}, 0)), ConfigError);

  // --force-anneal 2: from epoch 2 on, each epoch start takes the current (decayed) LR as base.
  json fa = {{"total_num_update", 100}, {"force_anneal", 2}};
  auto c = make_scheduler("polynomial_decay", fa, lr_context({lr}));
  c->step_begin_epoch(1);
  double cur = c->step_update(40);
  CHECK_LR(cur, lr * (1 - 40 / 100.0));
  CHECK_LR(c->step_begin_epoch(2), cur);
  CHECK_LR(c->step_update(60), cur * (1 - 60 / 100.0));  // decays from the decayed base
  cur = c->lr();
  CHECK_LR(c->step_begin_epoch(3), cur);
  CHECK_LR(c->step_update(80), cur * (1 - 80 / 100.0));
  // FBK indexes --lr by epoch (not epoch - 1) before force-anneal.
  auto list = make_scheduler("polynomial_decay", {{"total_num_update", 100}},
                             lr_context({1e-3, 5e-4, 2e-4}));
  list->step_begin_epoch(1);
  CHECK_LR(list->step_update(0), 5e-4);
}

TEST_CASE("cosine: warm-up, periods, shrink and t_mult", "[unit][lr_scheduler]") {
  const double max = 1e-3, min = 1e-5, init = 1e-7;
  auto s = make_scheduler("cosine",
                          {{"warmup_updates", 10}, {"warmup_init_lr", init}, {"min_lr", min},
                           {"lr_period_updates", 30}, {"lr_shrink", 0.5}},
                          lr_context({max}, 100));
  CHECK_LR(s->step_update(0), init);
  CHECK_LR(s->step_update(5), init + 5 * (max - init) / 10);
  CHECK_LR(s->step_update(10), max);
  CHECK_LR(s->step_update(25), min + 0.5 * (max - min) * (1 + std::cos(kPi * 15 / 30)));
  CHECK_LR(s->step_update(55), 0.5 * (min + 0.5 * (max - min) * (1 + std::cos(kPi * 15 / 30))));
  CHECK_LR(s->step_update(70), 0.25 * max);  // third period starts at its (shrunk) top

  // t_mult 2, period from max_update - warmup = 10: periods [0,10), [10,30), [30,70), ...
  auto m = make_scheduler("cosine", {{"t_mult", 2.0}}, lr_context({max}, 10));
  CHECK_LR(m->step_update(0), max);  // warm-up init defaults to min_lr = 0; no warm-up
  CHECK_LR(m->step_update(5), 0.5 * max * (1 + std::cos(kPi * 5 / 10)));
  CHECK_LR(m->step_update(25), 0.1 * 0.5 * max * (1 + std::cos(kPi * 15 / 20)));
  CHECK_LR(m->step_update(40), 0.01 * 0.5 * max * (1 + std::cos(kPi * 10 / 40)));

  CHECK_THROWS_AS(make_scheduler("cosine", {{"min_lr", 1e-3}}, lr_context({1e-3}, 100)),
                  ConfigError);  // FBK: lr must be > min_lr
  CHECK_THROWS_AS(make_scheduler("cosine", json::object(), lr_context({1e-3, 1e-4}, 100)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("cosine", json::object(), lr_context({1e-3}, 0)), ConfigError);
}

TEST_CASE("tri_stage: explicit steps and phase ratios", "[unit][lr_scheduler]") {
  const double lr = 1e-3, init = 1e-3 * 0.01, final = 1e-3 * 0.05;
  auto s = make_scheduler("tri_stage",
                          {{"warmup_steps", 10}, {"hold_steps", 20}, {"decay_steps", 30},
                           {"final_lr_scale", 0.05}},
                          lr_context({lr}));
  CHECK_LR(s->step_update(0), init);
  CHECK_LR(s->step_update(5), init + 5 * (lr - init) / 10);
  CHECK_LR(s->step_update(10), lr);
  CHECK_LR(s->step_update(29), lr);
  CHECK_LR(s->step_update(30), lr);
  CHECK_LR(s->step_update(45), lr * std::sqrt(0.05));
  CHECK_LR(s->step_update(60), final);
  CHECK_LR(s->step_update(61), final);
  CHECK_LR(s->step_update(1000), final);

  auto r = make_scheduler("tri_stage", {{"phase_ratio", {0.1, 0.4, 0.5}}},
                          lr_context({lr}, 200));
  CHECK_LR(r->step_update(20), lr);     // warm-up of int(200 * 0.1) = 20
  CHECK_LR(r->step_update(99), lr);     // hold until 20 + 80
  CHECK_LR(r->step_update(150), lr * std::sqrt(0.01));
  CHECK_LR(r->step_update(201), lr * 0.01);

  CHECK_THROWS_AS(make_scheduler("tri_stage", {{"phase_ratio", {0.1, 0.4, 0.4}}},
                                 lr_context({lr}, 100)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("tri_stage", {{"phase_ratio", {0.5, 0.5}}}, lr_context({lr}, 100)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("tri_stage", {{"phase_ratio", {0.1, 0.4, 0.5}}},
                                 lr_context({lr}, 0)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("tri_stage", json::object(), lr_context({lr}, 100)),
                  ConfigError);  // no steps at all
}

TEST_CASE("reduce_lr_on_plateau: ReduceLROnPlateau semantics per epoch", "[unit][lr_scheduler]") {
  json opts = {{"lr_shrink", 0.5}, {"lr_patience", 1}};
  auto s = make_scheduler("reduce_lr_on_plateau", opts, lr_context({1e-3}));
  CHECK_LR(s->step_update(0), 1e-3);
  // best 5, 4; 3.9999 is not better than 4 by the relative threshold 1e-4; second bad epoch
  // exceeds patience 1 -> halve.
  const std::vector<std::pair<double, double>> seq = {
      {5.0, 1e-3}, {4.0, 1e-3}, {3.9999, 1e-3}, {4.0, 5e-4}, {3.0, 5e-4}, {3.0, 5e-4},
      {3.0, 2.5e-4}};
  int64_t e = 1;
  for (const auto& [loss, want] : seq) CHECK_LR(s->step(e++, loss), want);
  CHECK(s->state_dict().at("best") == 3.0);

  // --maximize-best-checkpoint-metric: mode max.
  auto ctx = lr_context({1e-3});
  ctx.maximize_best_checkpoint_metric = true;
  auto m = make_scheduler("reduce_lr_on_plateau", json::object(), ctx);
  CHECK_LR(m->step(1, 1.0), 1e-3);
  CHECK_LR(m->step(2, 2.0), 1e-3);
  CHECK_LR(m->step(3, 2.0), 1e-4);
  CHECK_LR(m->step(4, 1.0), 1e-5);

  // Warm-up: linear per update; validation losses are ignored until an update past it.
  auto w = make_scheduler("reduce_lr_on_plateau", {{"warmup_updates", 4}}, lr_context({1e-3}));
  CHECK_LR(w->step_update(0), 0.0);
  CHECK_LR(w->step_update(2), 5e-4);
  CHECK_LR(w->step(1, 10.0), 5e-4);
  CHECK_LR(w->step_update(4), 1e-3);
  CHECK_LR(w->step(2, 10.0), 1e-3);  // n == W: still warming up
  CHECK_LR(w->step_update(5), 1e-3);
  CHECK_LR(w->step(3, 10.0), 1e-3);  // first counted loss: best
  CHECK_LR(w->step(4, 10.0), 1e-4);  // patience 0
  CHECK(w->state_dict().at("last_epoch") == 4);

  CHECK_THROWS_AS(make_scheduler("reduce_lr_on_plateau", {{"lr_shrink", 1.0}}, lr_context({1e-3})),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("reduce_lr_on_plateau", json::object(), lr_context({1e-3, 1e-4})),
                  ConfigError);
}

TEST_CASE("onecycle: PyTorch OneCycleLR curve, clamped at the end", "[unit][lr_scheduler]") {
  const double max = 1e-2, initial = max / 25, min = initial / 1e4;
  auto s = make_scheduler("onecycle", {{"total_num_update", 100}}, lr_context({max}));
  CHECK_LR(s->lr(), initial);  // step 0 is applied on construction
  CHECK(!s->momentum());       // --cycle-momentum is off by default
  CHECK_LR(s->step_update(0), initial);
  CHECK_LR(s->step_update(15), max + (initial - max) / 2 * (std::cos(kPi * 15 / 29) + 1));
  CHECK_LR(s->step_update(29), max);
  CHECK_LR(s->step_update(64), (max + min) / 2);
  CHECK_LR(s->step_update(99), min);
  CHECK_LR(s->step_update(100), min);  // clamped to total - 1 (PyTorch extrapolates here)
  CHECK_LR(s->step_update(5000), min);

  auto lin = make_scheduler("onecycle", {{"anneal_strategy", "linear"}, {"cycle_momentum", true}},
                            lr_context({max}, 100));  // total from --max-update
  CHECK_LR(lin->step_update(50), max + (50 - 29) / 70.0 * (min - max));
  REQUIRE(lin->momentum());
  CHECK_LR(*lin->momentum(), 0.85 + (50 - 29) / 70.0 * (0.95 - 0.85));
  lin->step_update(0);
  CHECK_LR(*lin->momentum(), 0.95);
  lin->step_update(29);
  CHECK_LR(*lin->momentum(), 0.85);

  auto three = make_scheduler("onecycle", {{"three_phase", true}, {"anneal_strategy", "linear"}},
                              lr_context({max}, 100));
  CHECK_LR(three->step_update(29), max);
  CHECK_LR(three->step_update(58), initial);
  CHECK_LR(three->step_update(99), min);

  CHECK_THROWS_AS(make_scheduler("onecycle", {{"pct_start", 1.5}}, lr_context({max}, 100)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("onecycle", {{"anneal_strategy", "exp"}}, lr_context({max}, 100)),
                  ConfigError);
  CHECK_THROWS_AS(make_scheduler("onecycle", json::object(), lr_context({max}, 0)), ConfigError);
}

TEST_CASE("every schedule resumes exactly from its state dict", "[unit][lr_scheduler]") {
  const std::vector<std::tuple<std::string, json, LrSchedulerContext>> cases = {
      {"inverse_sqrt", {{"warmup_updates", 7}}, lr_context({1e-3})},
      {"fixed", {{"force_anneal", 3}, {"warmup_updates", 6}, {"lr_shrink", 0.5}},
       lr_context({1e-3, 5e-4})},
      {"polynomial_decay", {{"warmup_updates", 3}, {"force_anneal", 2}, {"power", 2.0}},
       lr_context({1e-3}, 40)},
      {"cosine", {{"warmup_updates", 3}, {"t_mult", 2.0}, {"lr_period_updates", 4}},
       lr_context({1e-3})},
      {"tri_stage", {{"phase_ratio", {0.2, 0.3, 0.5}}}, lr_context({1e-3}, 40)},
      {"reduce_lr_on_plateau", {{"warmup_updates", 3}, {"lr_shrink", 0.5}},
       lr_context({1e-3})},
      {"onecycle", {{"cycle_momentum", true}}, lr_context({1e-3}, 40)},
  };
  const std::vector<double> losses = {5, 4, 4.5, 4.5, 3, 3, 3, 2};
  for (const auto& [name, opts, ctx] : cases) {
    INFO(name);
    auto a = make_scheduler(name, opts, ctx);
    a->step_update(0);
    drive(*a, 1, 3, 5, losses);
    auto state = a->state_dict();
    auto b = make_scheduler(name, opts, ctx);
    b->load_state_dict(state);
    CHECK(b->state_dict() == state);
    auto rest_a = drive(*a, 4, 4, 5, losses);
    auto rest_b = drive(*b, 4, 4, 5, losses);
    CHECK(rest_a == rest_b);
  }
}
