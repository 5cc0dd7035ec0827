#include "optim/lr_scheduler/reduce_lr_on_plateau.h"

#include <limits>

namespace trellis {

void ReduceLrOnPlateauOptions::validate() const {
  // PyTorch: "Factor should be < 1.0."
  TRELLIS_CHECK(lr_shrink < 1.0 && lr_shrink >= 0, ConfigError,
                "--lr-shrink: must be in [0, 1) for reduce_lr_on_plateau (got {})", lr_shrink);
  TRELLIS_CHECK(lr_threshold >= 0, ConfigError, "--lr-threshold: must be >= 0 (got {})",
                lr_threshold);
  TRELLIS_CHECK(lr_patience >= 0, ConfigError, "--lr-patience: must be >= 0 (got {})",
                lr_patience);
  TRELLIS_CHECK(warmup_updates >= 0, ConfigError, "--warmup-updates: must be >= 0 (got {})",
                warmup_updates);
}

ReduceLrOnPlateauSchedule::ReduceLrOnPlateauSchedule(const ReduceLrOnPlateauOptions& options,
                                                     const LrSchedulerContext& ctx)
    : options_(options), maximize_(ctx.maximize_best_checkpoint_metric) {
  options_.validate();
  const double warmup_end_lr = single_lr(ctx, "reduce_lr_on_plateau");
  warmup_init_lr_ = options_.warmup_init_lr;
  if (warmup_init_lr_ < 0) warmup_init_lr_ = options_.warmup_updates > 0 ? 0.0 : warmup_end_lr;
  if (options_.warmup_updates > 0) {
    lr_step_ = (warmup_end_lr - warmup_init_lr_) / static_cast<double>(options_.warmup_updates);
  }
  warmup_end_ = options_.warmup_updates <= 0;
  lr_ = warmup_end_ ? warmup_end_lr : warmup_init_lr_;
  plateau_best_ = maximize_ ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
}

bool ReduceLrOnPlateauSchedule::is_better(double a, double best) const {
  if (maximize_) return a > best * (options_.lr_threshold + 1.);
  return a < best * (1. - options_.lr_threshold);
}

double ReduceLrOnPlateauSchedule::step(int64_t epoch, std::optional<double> val_loss) {
  if (!val_loss || !warmup_end_) {
    last_epoch_ = epoch;
    return lr_;
  }
  // PyTorch's step(metrics) with epoch=None.
  last_epoch_ += 1;
  if (is_better(*val_loss, plateau_best_)) {
    plateau_best_ = *val_loss;
    num_bad_epochs_ = 0;
  } else {
    num_bad_epochs_ += 1;
  }
  if (num_bad_epochs_ > options_.lr_patience) {
    const double old_lr = lr_;
    const double new_lr = std::max(old_lr * options_.lr_shrink, 0.0);
    if (old_lr - new_lr > 1e-8) lr_ = new_lr;
    num_bad_epochs_ = 0;
  }
  return lr_;
}

double ReduceLrOnPlateauSchedule::step_update(int64_t num_updates) {
  if (options_.warmup_updates > 0) {
    if (num_updates <= options_.warmup_updates) {
      lr_ = warmup_init_lr_ + static_cast<double>(num_updates) * lr_step_;
    } else {
      warmup_end_ = true;
    }
  }
  return lr_;
}

std::map<std::string, double> ReduceLrOnPlateauSchedule::state_dict() const {
  auto s = LrScheduler::state_dict();
  s["best"] = plateau_best_;
  s["last_epoch"] = static_cast<double>(last_epoch_);
  s["num_bad_epochs"] = static_cast<double>(num_bad_epochs_);
  s["warmup_end"] = warmup_end_ ? 1.0 : 0.0;
  return s;
}

void ReduceLrOnPlateauSchedule::load_state_dict(const std::map<std::string, double>& state) {
  LrScheduler::load_state_dict(state);
  plateau_best_ = require(state, "best");  // fairseq requires it too
  if (auto it = state.find("last_epoch"); it != state.end())
    last_epoch_ = static_cast<int64_t>(it->second);
  if (auto it = state.find("num_bad_epochs"); it != state.end())
    num_bad_epochs_ = static_cast<int64_t>(it->second);
  if (auto it = state.find("warmup_end"); it != state.end()) warmup_end_ = it->second != 0;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "reduce_lr_on_plateau",
                 trellis::ReduceLrOnPlateauSchedule, trellis::ReduceLrOnPlateauOptions,
                 "shrink the LR when the validation metric plateaus (after an optional warm-up)");
