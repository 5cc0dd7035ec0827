// Data-driven parity of every LR schedule fixture under $TRELLIS_GOLDENS/lr_schedulers (see its
// README.md): the schedule, its options and the call order all come from the fixture, so a
// fixture of another config needs no code change. An unknown scheduler or option fails.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

#include "core/io/safetensors.h"
#include "goldens.h"
#include "core/interfaces/lr_scheduler.h"
#include "optim_test_utils.h"

using nlohmann::json;
using namespace trellis;
using trellis::testing::close;

namespace {

constexpr double kRtol = 1e-12;

// Keys of a fairseq fixture's options/resolved_config that belong to LrSchedulerContext.
bool set_context_key(LrSchedulerContext& ctx, const std::string& key, const json& v) {
  if (key == "lr") {
    ctx.lr.clear();
    if (v.is_array()) {
      for (const auto& x : v) ctx.lr.push_back(x.get<double>());
    } else {
      ctx.lr.push_back(v.get<double>());
    }
    return true;
  }
  if (key == "max_update") {
    ctx.max_update = static_cast<int64_t>(v.get<double>());
    return true;
  }
  if (key == "maximize_best_checkpoint_metric") {
    ctx.maximize_best_checkpoint_metric = v.get<bool>();
    return true;
  }
  return false;
}

json parse_meta(const SafeTensorsFile& f, const std::string& key) {
  std::string text = f.meta(key);
  if (text.empty()) return json();
  return json::parse(text);
}

// What a fixture asks for: a registered schedule, its options and the trainer context.
struct ScheduleCase {
  std::string name;
  json options = json::object();  // by trellis field name
  LrSchedulerContext ctx;

  std::unique_ptr<LrScheduler> make() const {
    return trellis::testing::make_scheduler(name, options, ctx);
  }
};

// fairseq fixtures: metadata scheduler (a registry name), options, resolved_config.
ScheduleCase fairseq_case(const SafeTensorsFile& f) {
  ScheduleCase c;
  c.name = f.meta("scheduler");
  if (!lr_scheduler_registry().contains(c.name)) {
    throw ConfigError(fmt::format("{}: unknown scheduler '{}'", f.path(), c.name));
  }
  json options = parse_meta(f, "options");
  json resolved = parse_meta(f, "resolved_config");
  Fields fields = lr_scheduler_registry().make_options(c.name).fields();
  std::set<std::string> from_options;
  for (const auto& [key, value] : options.items()) {
    from_options.insert(key);
    if (set_context_key(c.ctx, key, value)) continue;
    if (!fields.find(key)) {
      throw ConfigError(fmt::format("{}: {} has no option '{}'", f.path(), c.name, key));
    }
    c.options[key] = value;
  }
  // The resolved config fills in the trainer context (e.g. maximize_best_checkpoint_metric);
  // each of its keys must be something we know.
  if (resolved.is_object()) {
    for (const auto& [key, value] : resolved.items()) {
      if (!from_options.count(key) && set_context_key(c.ctx, key, value)) continue;
      if (key == "lr" || key == "max_update" || key == "maximize_best_checkpoint_metric") continue;
      if (!fields.find(key)) {
        throw ConfigError(
            fmt::format("{}: resolved_config key '{}' is no option of {}", f.path(), key, c.name));
      }
    }
  }
  return c;
}

// PyTorch OneCycleLR fixtures: OneCycleLR(Adam(lr=1.0, betas=(b1, b2)), total_steps, **kwargs).
ScheduleCase onecycle_case(const SafeTensorsFile& f) {
  ScheduleCase c;
  c.name = "onecycle";
  json kwargs = parse_meta(f, "kwargs");
  if (!kwargs.is_object()) kwargs = json::object();
  std::string total = f.meta("total_steps");
  if (!total.empty() && total != "null") c.options["total_num_update"] = json::parse(total);
  c.options["cycle_momentum"] = true;  // PyTorch's default (ours is off)
  std::optional<int64_t> epochs, steps_per_epoch;
  Fields fields = lr_scheduler_registry().make_options(c.name).fields();
  for (const auto& [key, value] : kwargs.items()) {
    if (key == "max_lr") {
      c.ctx.lr = {value.get<double>()};
    } else if (key == "total_steps") {
      c.options["total_num_update"] = value;
    } else if (key == "epochs") {
      epochs = value.get<int64_t>();
    } else if (key == "steps_per_epoch") {
      steps_per_epoch = value.get<int64_t>();
    } else if (fields.find(key)) {
      c.options[key] = value;
    } else {
      throw ConfigError(fmt::format("{}: OneCycleLR argument '{}' has no onecycle option",
                                    f.path(), key));
    }
  }
  if (epochs && steps_per_epoch) c.options["total_num_update"] = *epochs * *steps_per_epoch;
  if (c.ctx.lr.empty()) throw ConfigError(fmt::format("{}: kwargs has no max_lr", f.path()));
  // beta1 of the wrapped optimizer: "torch.optim.Adam(lr=1.0, betas=(0.9, 0.98))".
  std::smatch m;
  const std::string opt = f.meta("optimizer");
  if (std::regex_search(opt, m, std::regex(R"(betas=\(\s*([0-9.eE+-]+))"))) {
    c.ctx.optimizer_momentum = std::stod(m[1].str());
  } else if (std::regex_search(opt, m, std::regex(R"(momentum=\s*([0-9.eE+-]+))"))) {
    c.ctx.optimizer_momentum = std::stod(m[1].str());
  }
  return c;
}

struct Counter {
  int values = 0;
  int mismatches = 0;
};

void expect_close(Counter& n, const std::string& what, double got, double want) {
  ++n.values;
  if (!close(got, want, kRtol)) {
    ++n.mismatches;
    if (n.mismatches <= 10) FAIL_CHECK(fmt::format("{}: got {:.17g}, want {:.17g}", what, got, want));
  }
}

// step_update.num_updates / step_update.lr: a fresh schedule, step_update(n) in order.
void check_step_update_table(const SafeTensorsFile& f, const ScheduleCase& c, Counter& n) {
  auto updates = f.get("step_update.num_updates").to_int64();
  auto want = f.get("step_update.lr").to_double();
  REQUIRE(updates.size() == want.size());
  auto s = c.make();
  for (size_t i = 0; i < updates.size(); ++i) {
    expect_close(n, fmt::format("step_update({})", updates[i]), s->step_update(updates[i]),
                 want[i]);
  }
}

// trainer.*: fairseq's training loop around the schedule (README: exact call order).
void check_trainer_table(const SafeTensorsFile& f, const ScheduleCase& c, Counter& n) {
  auto update = f.get("trainer.update").to_int64();
  auto epoch = f.get("trainer.epoch").to_int64();
  auto lr_used = f.get("trainer.lr_used").to_double();
  auto begin_lr = f.get("trainer.epoch_begin_lr").to_double();
  auto end_lr = f.get("trainer.epoch_end_lr").to_double();
  REQUIRE(update.size() == epoch.size());
  REQUIRE(update.size() == lr_used.size());
  REQUIRE(begin_lr.size() == end_lr.size());
  const size_t num_epochs = begin_lr.size();
  std::vector<std::optional<double>> val_loss(num_epochs);
  if (f.contains("trainer.val_loss")) {
    auto v = f.get("trainer.val_loss").to_double();
    REQUIRE(v.size() == num_epochs);
    for (size_t e = 0; e < num_epochs; ++e) val_loss[e] = v[e];
  } else if (json meta = parse_meta(f, "val_losses"); meta.is_array()) {
    REQUIRE(meta.size() == num_epochs);
    for (size_t e = 0; e < num_epochs; ++e)
      if (!meta[e].is_null()) val_loss[e] = meta[e].get<double>();
  }
  if (json per_epoch = parse_meta(f, "updates_per_epoch"); per_epoch.is_array()) {
    REQUIRE(per_epoch.size() == num_epochs);
    for (size_t e = 0; e < num_epochs; ++e) {
      auto count = std::count(epoch.begin(), epoch.end(), static_cast<int64_t>(e + 1));
      CHECK(count == per_epoch[e].get<int64_t>());
    }
  }

  auto s = c.make();
  double current = s->step_update(0);  // trainer _build_optimizer
  s->step(1, std::nullopt);            // checkpoint_utils.load_checkpoint: lr_step(epoch 1)
  current = s->step_update(0);
  int64_t num_updates = 0;
  size_t row = 0;
  for (size_t e = 1; e <= num_epochs; ++e) {
    s->step_begin_epoch(static_cast<int64_t>(e));
    current = s->step_update(num_updates);
    expect_close(n, fmt::format("epoch {} begin", e), current, begin_lr[e - 1]);
    for (; row < update.size() && epoch[row] == static_cast<int64_t>(e); ++row) {
      expect_close(n, fmt::format("epoch {} update {} lr", e, update[row]), current,
                   lr_used[row]);
      num_updates = update[row];
      current = s->step_update(num_updates);
    }
    s->step(static_cast<int64_t>(e), val_loss[e - 1]);
    current = s->step_update(num_updates);
    expect_close(n, fmt::format("epoch {} end", e), current, end_lr[e - 1]);
  }
  CHECK(row == update.size());  // every update row belongs to an epoch, in order
}

// OneCycleLR tables: step (0..total), lr, beta1. Steps >= total are clamped to total - 1
// (docs/optim.md, "onecycle"), where PyTorch extrapolates at step total and raises after it.
void check_onecycle_table(const SafeTensorsFile& f, const ScheduleCase& c, Counter& n) {
  auto steps = f.get("step").to_int64();
  auto lr = f.get("lr").to_double();
  auto beta1 = f.get("beta1").to_double();
  REQUIRE(steps.size() == lr.size());
  REQUIRE(steps.size() == beta1.size());
  auto s = c.make();
  const int64_t total = c.options["total_num_update"].get<int64_t>();
  std::map<int64_t, size_t> row_of;
  for (size_t i = 0; i < steps.size(); ++i) row_of[steps[i]] = i;
  REQUIRE(row_of.count(total - 1));
  const bool cycled = c.options["cycle_momentum"].get<bool>();
  CHECK(s->momentum().has_value() == cycled);
  for (size_t i = 0; i < steps.size(); ++i) {
    const size_t want = row_of[std::min(steps[i], total - 1)];
    const double got = s->step_update(steps[i]);
    expect_close(n, fmt::format("onecycle step {} lr", steps[i]), got, lr[want]);
    const double m = s->momentum().value_or(c.ctx.optimizer_momentum);
    expect_close(n, fmt::format("onecycle step {} beta1", steps[i]), m, beta1[want]);
  }
  // Past the end: still the final value, no error.
  expect_close(n, "onecycle step total+1", s->step_update(total + 1), lr[row_of[total - 1]]);
}

}  // namespace

TEST_CASE("every LR schedule fixture matches the reference", "[unit][lr_scheduler][golden]") {
  auto files = trellis::testing::golden_files("lr_schedulers");
  REQUIRE(!files.empty());
  int checked = 0, values = 0;
  for (const auto& path : files) {
    const std::string file = std::filesystem::path(path).filename().string();
    INFO("fixture " << file);
    Counter n;
    int tables = 0;
    try {
      SafeTensorsFile f(path);
      const std::string scheduler = f.meta("scheduler");
      if (scheduler == "torch.optim.lr_scheduler.OneCycleLR") {
        ScheduleCase c = onecycle_case(f);
        check_onecycle_table(f, c, n);
        ++tables;
      } else {
        ScheduleCase c = fairseq_case(f);
        if (f.contains("step_update.lr")) {
          check_step_update_table(f, c, n);
          ++tables;
        }
        if (f.contains("trainer.lr_used")) {
          check_trainer_table(f, c, n);
          ++tables;
        }
      }
    } catch (const std::exception& e) {
      FAIL_CHECK(fmt::format("{}: {}", file, e.what()));
      continue;
    }
    CHECK(tables > 0);  // a fixture with no table we know is an error, not a pass
    CHECK(n.mismatches == 0);
    if (n.mismatches == 0 && tables > 0) ++checked;
    values += n.values;
  }
  WARN(fmt::format("lr_schedulers: {} of {} fixtures match ({} values, rtol {})", checked,
                   files.size(), values, kRtol));
  CHECK(checked == static_cast<int>(files.size()));
}
