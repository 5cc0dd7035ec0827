#include "toy_linear_decay.h"

#include <algorithm>

namespace toy {

void ToyLinearDecayOptions::validate() const {
  TRELLIS_CHECK(toy_total_updates > 0, trellis::ConfigError,
                "--toy-total-updates must be > 0 (got {})", toy_total_updates);
}

ToyLinearDecay::ToyLinearDecay(const ToyLinearDecayOptions& options,
                               const trellis::LrSchedulerContext& ctx)
    : options_(options), peak_(ctx.lr.at(0)) {
  lr_ = peak_;
}

double ToyLinearDecay::step_update(int64_t num_updates) {
  lr_ = peak_ * std::max(0.0, 1.0 - double(num_updates) / double(options_.toy_total_updates));
  return lr_;
}

}  // namespace toy

TRELLIS_REGISTER(trellis::lr_scheduler_registry(), "toy_linear_decay", toy::ToyLinearDecay,
                 toy::ToyLinearDecayOptions, "plugin example: linear decay to 0");
