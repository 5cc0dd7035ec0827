#include "optim/lr_scheduler/fixed.h"

#include <algorithm>
#include <cmath>

namespace trellis {

void FixedOptions::validate() const {
  TRELLIS_CHECK(warmup_updates >= 0, ConfigError, "--warmup-updates: must be >= 0 (got {})",
                warmup_updates);
  TRELLIS_CHECK(!force_anneal || *force_anneal >= 1, ConfigError,
                "--force-anneal: epochs start at 1 (got {})", force_anneal.value_or(0));
  TRELLIS_CHECK(lr_shrink > 0, ConfigError, "--lr-shrink: must be > 0 (got {})", lr_shrink);
}

FixedSchedule::FixedSchedule(const FixedOptions& options, const LrSchedulerContext& ctx)
    : options_(options), lrs_(ctx.lr) {
  options_.validate();
  TRELLIS_CHECK(!lrs_.empty(), ConfigError, "--lr: the fixed schedule needs at least one value");
  epoch_lr_ = lrs_[0];
  warmup_factor_ = options_.warmup_updates > 0 ? 1.0 / static_cast<double>(options_.warmup_updates)
                                               : 1.0;
  lr_ = lrs_[0];  // the optimizer is built with --lr[0]; fixed sets nothing until step_update
}

double FixedSchedule::next_lr(int64_t epoch) const {
  if (!options_.force_anneal || epoch < *options_.force_anneal) {
    const auto n = static_cast<int64_t>(lrs_.size());
    int64_t idx = std::min(epoch - 1, n - 1);
    if (idx < 0) idx += n;  // Python indexing: epoch 0 reads lrs[-1]
    return lrs_[static_cast<size_t>(std::clamp<int64_t>(idx, 0, n - 1))];
  }
  return lrs_.back() *
         std::pow(options_.lr_shrink, static_cast<double>(epoch + 1 - *options_.force_anneal));
}

double FixedSchedule::step_begin_epoch(int64_t epoch) {
  epoch_lr_ = next_lr(epoch);
  lr_ = warmup_factor_ * epoch_lr_;
  return lr_;
}

double FixedSchedule::step_update(int64_t num_updates) {
  if (options_.warmup_updates > 0 && num_updates < options_.warmup_updates) {
    warmup_factor_ = static_cast<double>(num_updates + 1) /
                     static_cast<double>(options_.warmup_updates);
    lr_ = warmup_factor_ * epoch_lr_;
  } else {
    lr_ = epoch_lr_;
  }
  return lr_;
}

std::map<std::string, double> FixedSchedule::state_dict() const {
  auto s = LrScheduler::state_dict();
  s["lr"] = epoch_lr_;
  s["warmup_factor"] = warmup_factor_;
  return s;
}

void FixedSchedule::load_state_dict(const std::map<std::string, double>& state) {
  LrScheduler::load_state_dict(state);
  if (auto it = state.find("lr"); it != state.end()) epoch_lr_ = it->second;
  if (auto it = state.find("warmup_factor"); it != state.end()) warmup_factor_ = it->second;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "fixed", trellis::FixedSchedule,
                 trellis::FixedOptions,
                 "one LR per epoch (--lr list), optional --force-anneal and warm-up");
