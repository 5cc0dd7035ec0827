#include "optim/lr_scheduler/inverse_sqrt.h"

#include <cmath>

namespace trellis {

void InverseSqrtOptions::validate() const {
  // fairseq divides by --warmup-updates (ZeroDivisionError); say so up front.
  TRELLIS_CHECK(warmup_updates > 0, ConfigError,
                "--warmup-updates: inverse_sqrt needs a positive warm-up (got {})",
                warmup_updates);
}

InverseSqrtSchedule::InverseSqrtSchedule(const InverseSqrtOptions& options,
                                         const LrSchedulerContext& ctx)
    : options_(options) {
  options_.validate();
  const double warmup_end_lr = single_lr(ctx, "inverse_sqrt");
  warmup_init_lr_ = options_.warmup_init_lr;
  if (warmup_init_lr_ < 0) warmup_init_lr_ = options_.warmup_updates > 0 ? 0.0 : warmup_end_lr;
  const auto w = static_cast<double>(options_.warmup_updates);
  lr_step_ = (warmup_end_lr - warmup_init_lr_) / w;
  decay_factor_ = warmup_end_lr * std::pow(w, 0.5);
  lr_ = warmup_init_lr_;
}

double InverseSqrtSchedule::step_update(int64_t num_updates) {
  if (num_updates < options_.warmup_updates) {
    lr_ = warmup_init_lr_ + static_cast<double>(num_updates) * lr_step_;
  } else {
    lr_ = decay_factor_ * std::pow(static_cast<double>(num_updates), -0.5);
  }
  return lr_;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "inverse_sqrt", trellis::InverseSqrtSchedule,
                 trellis::InverseSqrtOptions,
                 "linear warm-up, then decay with the inverse square root of the update number");
