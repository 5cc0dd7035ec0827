#pragma once
// --lr-scheduler inverse_sqrt (fairseq InverseSquareRootSchedule).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct InverseSqrtOptions {
  int64_t warmup_updates = 4000;
  double warmup_init_lr = -1;

  template <class V>
  void visit(V& v) {
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates");
    v.field("warmup_init_lr", warmup_init_lr,
            "initial learning rate during warm-up (-1: 0 with warm-up, else --lr)");
  }
  void validate() const;
};

// Linear warm-up, then decay with the inverse square root of the update number. With
// peak = --lr (exactly one value), W = --warmup-updates, init = --warmup-init-lr (when < 0:
// 0 if W > 0, else peak):
//   n <  W:  lr(n) = init + n * ((peak - init) / W)
//   n >= W:  lr(n) = peak * W^0.5 * n^-0.5
// Epoch boundaries leave the LR alone. State: {best} (the LR is recomputed from num_updates).
class InverseSqrtSchedule : public LrScheduler {
 public:
  InverseSqrtSchedule(const InverseSqrtOptions& options, const LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;

 private:
  InverseSqrtOptions options_;
  double warmup_init_lr_;
  double lr_step_;
  double decay_factor_;
};

}  // namespace trellis
