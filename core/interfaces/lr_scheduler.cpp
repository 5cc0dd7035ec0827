#include "core/interfaces/lr_scheduler.h"

#include <algorithm>

namespace trellis {

double LrScheduler::step(int64_t epoch, std::optional<double> val_loss) {
  (void)epoch;
  if (val_loss) best_ = best_ ? std::min(*best_, *val_loss) : *val_loss;
  return lr_;
}

std::map<std::string, double> LrScheduler::state_dict() const {
  std::map<std::string, double> s;
  if (best_) s["best"] = *best_;
  s["optimizer_lr"] = lr_;
  return s;
}

void LrScheduler::load_state_dict(const std::map<std::string, double>& state) {
  auto it = state.find("best");
  if (it != state.end()) best_ = it->second;
  it = state.find("optimizer_lr");
  if (it != state.end()) lr_ = it->second;
}

double LrScheduler::single_lr(const LrSchedulerContext& ctx, const char* scheduler) {
  if (ctx.lr.size() != 1) {
    throw ConfigError(fmt::format(
        "--lr: {} takes exactly one learning rate, got {} (a list of per-epoch rates needs "
        "--lr-scheduler fixed)",
        scheduler, ctx.lr.size()));
  }
  return ctx.lr[0];
}

double LrScheduler::require(const std::map<std::string, double>& state, const std::string& key) {
  auto it = state.find(key);
  if (it == state.end()) {
    throw CheckpointError(fmt::format("lr_scheduler state: missing key '{}'", key));
  }
  return it->second;
}

LrSchedulerRegistry& lr_scheduler_registry() {
  static LrSchedulerRegistry registry("lr_scheduler", "--lr-scheduler");
  return registry;
}

static LrSchedulerRegistry& lr_scheduler_registry_instance = lr_scheduler_registry();

}  // namespace trellis
