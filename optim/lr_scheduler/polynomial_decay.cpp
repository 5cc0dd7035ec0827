#include "optim/lr_scheduler/polynomial_decay.h"

#include <algorithm>
#include <cmath>

namespace trellis {

void PolynomialDecayOptions::validate() const {
  TRELLIS_CHECK(warmup_updates >= 0, ConfigError, "--warmup-updates: must be >= 0 (got {})",
                warmup_updates);
  TRELLIS_CHECK(!total_num_update || *total_num_update > 0, ConfigError,
                "--total-num-update: must be > 0 (got {})", total_num_update.value_or(0));
  TRELLIS_CHECK(!force_anneal || *force_anneal >= 1, ConfigError,
                "--force-anneal: epochs start at 1 (got {})", force_anneal.value_or(0));
}

PolynomialDecaySchedule::PolynomialDecaySchedule(const PolynomialDecayOptions& options,
                                                 const LrSchedulerContext& ctx)
    : options_(options), lrs_(ctx.lr) {
  options_.validate();
  TRELLIS_CHECK(!lrs_.empty(), ConfigError, "--lr: polynomial_decay needs a learning rate");
  const int64_t total = options_.total_num_update.value_or(ctx.max_update);
  TRELLIS_CHECK(total > 0, ConfigError,
                "--total-num-update: polynomial_decay needs --total-num-update or --max-update > 0");
  total_num_update_ = static_cast<double>(total);
  base_lr_ = lrs_[0];
  warmup_factor_ =
      options_.warmup_updates > 0 ? 1.0 / static_cast<double>(options_.warmup_updates) : 1.0;
  lr_ = warmup_factor_ * base_lr_;
}

double PolynomialDecaySchedule::step_begin_epoch(int64_t epoch) {
  if (!options_.force_anneal || epoch < *options_.force_anneal) {
    const auto n = static_cast<int64_t>(lrs_.size());
    int64_t idx = std::min(epoch, n - 1);
    if (idx < 0) idx += n;
    base_lr_ = lrs_[static_cast<size_t>(std::clamp<int64_t>(idx, 0, n - 1))];
  } else {
    base_lr_ = lr_;  // the current, already decayed LR
  }
  lr_ = warmup_factor_ * base_lr_;
  return lr_;
}

double PolynomialDecaySchedule::step_update(int64_t num_updates) {
  const int64_t warmup = options_.warmup_updates;
  const auto n = static_cast<double>(num_updates);
  if (warmup > 0 && num_updates <= warmup) {
    warmup_factor_ = n / static_cast<double>(warmup);
    lr_ = warmup_factor_ * base_lr_;
  } else if (n >= total_num_update_) {
    lr_ = options_.end_learning_rate;
  } else {
    const double w = static_cast<double>(warmup);
    const double lr_range = base_lr_ - options_.end_learning_rate;
    const double pct_remaining = 1 - (n - w) / (total_num_update_ - w);
    lr_ = lr_range * std::pow(pct_remaining, options_.power) + options_.end_learning_rate;
  }
  return lr_;
}

std::map<std::string, double> PolynomialDecaySchedule::state_dict() const {
  auto s = LrScheduler::state_dict();
  s["lr"] = base_lr_;
  s["warmup_factor"] = warmup_factor_;
  return s;
}

void PolynomialDecaySchedule::load_state_dict(const std::map<std::string, double>& state) {
  LrScheduler::load_state_dict(state);
  if (auto it = state.find("lr"); it != state.end()) base_lr_ = it->second;
  if (auto it = state.find("warmup_factor"); it != state.end()) warmup_factor_ = it->second;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "polynomial_decay",
                 trellis::PolynomialDecaySchedule, trellis::PolynomialDecayOptions,
                 "linear warm-up, then polynomial decay to --end-learning-rate");
