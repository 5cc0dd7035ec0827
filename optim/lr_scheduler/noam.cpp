#include "optim/lr_scheduler/noam.h"

#include <algorithm>
#include <cmath>

namespace trellis {

void NoamOptions::validate() const {
  TRELLIS_CHECK(warmup_updates >= 0, ConfigError, "--warmup-updates: must be >= 0 (got {})",
                warmup_updates);
  TRELLIS_CHECK(noam_d_model > 0, ConfigError, "--noam-d-model: must be positive (got {})",
                noam_d_model);
  TRELLIS_CHECK(min_lr >= 0.0, ConfigError, "--min-lr: must be >= 0 (got {})", min_lr);
}

NoamSchedule::NoamSchedule(const NoamOptions& options, const LrSchedulerContext& ctx)
    : options_(options) {
  options_.validate();
  base_lr_ = single_lr(ctx, "noam");
  // NeMo: "received an initial learning rate that was lower than the minimum learning rate"
  TRELLIS_CHECK(base_lr_ >= options_.min_lr, ConfigError,
                "--lr {} is below --min-lr {} (noam)", base_lr_, options_.min_lr);
  step_update(0);
}

double NoamSchedule::step_update(int64_t num_updates) {
  const double s = static_cast<double>(std::max<int64_t>(1, num_updates));
  const double w = static_cast<double>(options_.warmup_updates);
  const double scale = std::pow(static_cast<double>(options_.noam_d_model), -0.5);
  const double mult = options_.warmup_updates > 0
                          ? scale * std::min(std::pow(s, -0.5), s * std::pow(w, -1.5))
                          : scale * std::pow(s, -0.5);
  lr_ = base_lr_ * mult;
  if (s > w) lr_ = std::max(lr_, options_.min_lr);
  return lr_;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "noam", trellis::NoamSchedule,
                 trellis::NoamOptions,
                 "NeMo's Noam annealing: linear warm-up, then inverse square root decay, scaled "
                 "by d_model^-0.5");
