#include "optim/lr_scheduler/tri_stage.h"

#include <cmath>

namespace trellis {

void TriStageOptions::validate() const {
  TRELLIS_CHECK(warmup_steps >= 0 && hold_steps >= 0 && decay_steps >= 0, ConfigError,
                "--warmup-steps/--hold-steps/--decay-steps: must be >= 0 (got {}, {}, {})",
                warmup_steps, hold_steps, decay_steps);
  if (!phase_ratio.empty()) {
    TRELLIS_CHECK(phase_ratio.size() == 3, ConfigError,
                  "--phase-ratio: needs 3 values (warm-up, hold, decay), got {}",
                  phase_ratio.size());
    double sum = 0;
    for (double r : phase_ratio) {
      TRELLIS_CHECK(r >= 0, ConfigError, "--phase-ratio: ratios must be >= 0 (got {})", r);
      sum += r;
    }
    TRELLIS_CHECK(std::abs(sum - 1.0) < 1e-6, ConfigError,
                  "--phase-ratio: phase ratios must add up to 1 (got {})", sum);
  }
  TRELLIS_CHECK(init_lr_scale >= 0, ConfigError, "--init-lr-scale: must be >= 0 (got {})",
                init_lr_scale);
  TRELLIS_CHECK(final_lr_scale > 0, ConfigError, "--final-lr-scale: must be > 0 (got {})",
                final_lr_scale);
}

TriStageSchedule::TriStageSchedule(const TriStageOptions& options, const LrSchedulerContext& ctx) {
  options.validate();
  peak_lr_ = single_lr(ctx, "tri_stage");
  init_lr_ = options.init_lr_scale * peak_lr_;
  final_lr_ = options.final_lr_scale * peak_lr_;
  if (!options.phase_ratio.empty()) {
    TRELLIS_CHECK(ctx.max_update > 0, ConfigError,
                  "--phase-ratio: tri_stage needs --max-update > 0 to size its stages");
    const auto total = static_cast<double>(ctx.max_update);
    warmup_steps_ = static_cast<int64_t>(total * options.phase_ratio[0]);
    hold_steps_ = static_cast<int64_t>(total * options.phase_ratio[1]);
    decay_steps_ = static_cast<int64_t>(total * options.phase_ratio[2]);
  } else {
    warmup_steps_ = options.warmup_steps;
    hold_steps_ = options.hold_steps;
    decay_steps_ = options.decay_steps;
  }
  TRELLIS_CHECK(warmup_steps_ + hold_steps_ + decay_steps_ > 0, ConfigError,
                "tri_stage: set --warmup-steps/--hold-steps/--decay-steps or --phase-ratio");
  warmup_rate_ =
      warmup_steps_ != 0 ? (peak_lr_ - init_lr_) / static_cast<double>(warmup_steps_) : 0.0;
  decay_factor_ = decay_steps_ != 0
                      ? -std::log(options.final_lr_scale) / static_cast<double>(decay_steps_)
                      : 0.0;
  lr_ = init_lr_;
}

double TriStageSchedule::step_update(int64_t n) {
  if (n < warmup_steps_) {
    lr_ = init_lr_ + warmup_rate_ * static_cast<double>(n);
  } else if (n < warmup_steps_ + hold_steps_) {
    lr_ = peak_lr_;
  } else if (n <= warmup_steps_ + hold_steps_ + decay_steps_) {
    lr_ = peak_lr_ *
          std::exp(-decay_factor_ * static_cast<double>(n - warmup_steps_ - hold_steps_));
  } else {
    lr_ = final_lr_;
  }
  return lr_;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "tri_stage", trellis::TriStageSchedule,
                 trellis::TriStageOptions,
                 "linear warm-up, hold, exponential decay, then constant (--phase-ratio)");
