#pragma once
// --lr-scheduler noam (NeMo's NoamAnnealing; docs/optim.md, "noam").

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct NoamOptions {
  int64_t warmup_updates = 0;
  int64_t noam_d_model = 512;
  double min_lr = 0.0;

  template <class V>
  void visit(V& v) {
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates (NeMo's warmup_steps)");
    v.field("noam_d_model", noam_d_model,
            "model width d whose inverse square root scales --lr (NeMo's d_model)");
    v.field("min_lr", min_lr, "lowest learning rate once warm-up is over (must be <= --lr)");
  }
  void validate() const;
};

// With base = --lr (exactly one value), W = --warmup-updates, d = --noam-d-model and
// s = max(1, n), the LR of update n + 1 (step_update(n); NeMo's scheduler has stepped n times
// then, and clamps its step count to at least 1):
//   W > 0:  lr = base * d^-0.5 * min(s^-0.5, s * W^-1.5)
//   W = 0:  lr = base * d^-0.5 * s^-0.5
//   s > W:  lr = max(lr, --min-lr)
// The peak, at s = W, is base * d^-0.5 * W^-0.5. NeMo's max_steps has no effect on it (not an
// option here). Epoch boundaries leave the LR alone. State: the base's (recomputed from n).
class NoamSchedule : public LrScheduler {
 public:
  NoamSchedule(const NoamOptions& options, const LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;

 private:
  NoamOptions options_;
  double base_lr_;
};

}  // namespace trellis
