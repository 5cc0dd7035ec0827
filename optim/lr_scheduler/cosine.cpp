#include "optim/lr_scheduler/cosine.h"

#include <cmath>

namespace trellis {

void CosineOptions::validate() const {
  TRELLIS_CHECK(warmup_updates >= 0, ConfigError, "--warmup-updates: must be >= 0 (got {})",
                warmup_updates);
  TRELLIS_CHECK(t_mult > 0, ConfigError, "--t-mult: must be > 0 (got {})", t_mult);
  TRELLIS_CHECK(lr_shrink > 0, ConfigError, "--lr-shrink: must be > 0 (got {})", lr_shrink);
}

CosineSchedule::CosineSchedule(const CosineOptions& options, const LrSchedulerContext& ctx)
    : options_(options) {
  options_.validate();
  max_lr_ = single_lr(ctx, "cosine");
  // FBK asserts this (upstream fairseq later clamps min_lr instead).
  TRELLIS_CHECK(max_lr_ > options_.min_lr, ConfigError,
                "--lr ({}) must be more than --min-lr ({}) for the cosine schedule", max_lr_,
                options_.min_lr);
  warmup_init_lr_ = options_.warmup_init_lr < 0 ? options_.min_lr : options_.warmup_init_lr;
  period_ = options_.lr_period_updates;
  if (period_ <= 0) {
    TRELLIS_CHECK(ctx.max_update > 0, ConfigError,
                  "--lr-period-updates: the cosine schedule needs --lr-period-updates or "
                  "--max-update");
    period_ = static_cast<double>(ctx.max_update - options_.warmup_updates);
    TRELLIS_CHECK(period_ > 0, ConfigError,
                  "--max-update ({}) must exceed --warmup-updates ({}) for the cosine schedule",
                  ctx.max_update, options_.warmup_updates);
  }
  lr_step_ = options_.warmup_updates > 0
                 ? (max_lr_ - warmup_init_lr_) / static_cast<double>(options_.warmup_updates)
                 : 1.0;
  lr_ = warmup_init_lr_;
}

double CosineSchedule::step_update(int64_t num_updates) {
  if (num_updates < options_.warmup_updates) {
    lr_ = warmup_init_lr_ + static_cast<double>(num_updates) * lr_step_;
    return lr_;
  }
  const double curr = static_cast<double>(num_updates - options_.warmup_updates);
  const double m = options_.t_mult;
  double i, t_i, t_curr;
  if (m != 1) {
    // Python's math.log(x, base) is log(x) / log(base).
    i = std::floor(std::log(1 - curr / period_ * (1 - m)) / std::log(m));
    t_i = std::pow(m, i) * period_;
    t_curr = curr - (1 - std::pow(m, i)) / (1 - m) * period_;
  } else {
    i = std::floor(curr / period_);
    t_i = period_;
    t_curr = curr - (period_ * i);
  }
  const double shrink = std::pow(options_.lr_shrink, i);
  const double min_lr = options_.min_lr * shrink;
  const double max_lr = max_lr_ * shrink;
  lr_ = min_lr + 0.5 * (max_lr - min_lr) * (1 + std::cos(M_PI * t_curr / t_i));
  return lr_;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "cosine", trellis::CosineSchedule,
                 trellis::CosineOptions,
                 "linear warm-up, then cosine annealing with warm restarts (SGDR)");
