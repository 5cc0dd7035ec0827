#include "optim/lr_scheduler/lr_scheduler.h"

#include <algorithm>

namespace trellis {

double LrScheduler::step(int64_t epoch, std::optional<double> val_loss) {
  if (val_loss) best_ = best_ ? std::min(*best_, *val_loss) : *val_loss;
  return lr_;
}

std::map<std::string, double> LrScheduler::state_dict() const {
  std::map<std::string, double> s;
  if (best_) s["best"] = *best_;
  return s;
}

void LrScheduler::load_state_dict(const std::map<std::string, double>& state) {
  auto it = state.find("best");
  if (it != state.end()) best_ = it->second;
}

LrSchedulerRegistry& lr_scheduler_registry() {
  static LrSchedulerRegistry registry("lr_scheduler", "--lr-scheduler");
  return registry;
}

static LrSchedulerRegistry& lr_scheduler_registry_instance = lr_scheduler_registry();

}  // namespace trellis
