#pragma once
#include "core/interfaces/lr_scheduler.h"

namespace toy {

// --lr-scheduler toy_linear_decay: lr(n) = lr * max(0, 1 - n / toy_total_updates).
struct ToyLinearDecayOptions {
  int64_t toy_total_updates = 1000;
  template <class V>
  void visit(V& v) {
    v.field("toy_total_updates", toy_total_updates, "updates until the LR reaches 0");
  }
  void validate() const;
};

class ToyLinearDecay : public trellis::LrScheduler {
 public:
  ToyLinearDecay(const ToyLinearDecayOptions& options, const trellis::LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;

 private:
  ToyLinearDecayOptions options_;
  double peak_;
};

}  // namespace toy
