#include "optim/lr_scheduler/onecycle.h"

#include <algorithm>
#include <cmath>

namespace trellis {

void OnecycleOptions::validate() const {
  TRELLIS_CHECK(!total_num_update || *total_num_update > 0, ConfigError,
                "--total-num-update: must be > 0 (got {})", total_num_update.value_or(0));
  TRELLIS_CHECK(pct_start >= 0 && pct_start <= 1, ConfigError,
                "--pct-start: must be between 0 and 1 (got {})", pct_start);
  TRELLIS_CHECK(anneal_strategy == "cos" || anneal_strategy == "linear", ConfigError,
                "--anneal-strategy: must be 'cos' or 'linear' (got '{}')", anneal_strategy);
  TRELLIS_CHECK(div_factor > 0, ConfigError, "--div-factor: must be > 0 (got {})", div_factor);
  TRELLIS_CHECK(final_div_factor > 0, ConfigError, "--final-div-factor: must be > 0 (got {})",
                final_div_factor);
}

OnecycleSchedule::OnecycleSchedule(const OnecycleOptions& options, const LrSchedulerContext& ctx)
    : options_(options) {
  options_.validate();
  const double max_lr = single_lr(ctx, "onecycle");
  total_steps_ = options_.total_num_update.value_or(ctx.max_update);
  TRELLIS_CHECK(total_steps_ > 0, ConfigError,
                "--total-num-update: onecycle needs --total-num-update or --max-update > 0");
  const double initial_lr = max_lr / options_.div_factor;
  const double min_lr = initial_lr / options_.final_div_factor;
  const double max_m = options_.max_momentum, base_m = options_.base_momentum;
  const double pct_t = options_.pct_start * static_cast<double>(total_steps_);
  const double last = static_cast<double>(total_steps_ - 1);
  if (options_.three_phase) {
    phases_ = {{pct_t - 1, initial_lr, max_lr, max_m, base_m},
               {2 * options_.pct_start * static_cast<double>(total_steps_) - 2, max_lr,
                initial_lr, base_m, max_m},
               {last, initial_lr, min_lr, max_m, max_m}};
  } else {
    phases_ = {{pct_t - 1, initial_lr, max_lr, max_m, base_m},
               {last, max_lr, min_lr, base_m, max_m}};
  }
  step_update(0);  // PyTorch's constructor applies step 0
}

double OnecycleSchedule::anneal(double from, double to, double pct) const {
  if (options_.anneal_strategy == "linear") return (to - from) * pct + from;
  const double cos_out = std::cos(M_PI * pct) + 1;
  return to + (from - to) / 2.0 * cos_out;
}

double OnecycleSchedule::step_update(int64_t num_updates) {
  const auto step = static_cast<double>(std::clamp<int64_t>(num_updates, 0, total_steps_ - 1));
  double start = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (step <= ph.end_step || i + 1 == phases_.size()) {
      // PyTorch divides by zero when a phase is empty; treat the step as the phase's end.
      const double span = ph.end_step - start;
      const double pct = span != 0 ? (step - start) / span : 1.0;
      lr_ = anneal(ph.start_lr, ph.end_lr, pct);
      momentum_ = anneal(ph.start_momentum, ph.end_momentum, pct);
      break;
    }
    start = ph.end_step;
  }
  return lr_;
}

std::optional<double> OnecycleSchedule::momentum() const {
  if (!options_.cycle_momentum) return std::nullopt;
  return momentum_;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "onecycle", trellis::OnecycleSchedule,
                 trellis::OnecycleOptions,
                 "one-cycle policy (PyTorch OneCycleLR): warm up to --lr, anneal to a minimum");
