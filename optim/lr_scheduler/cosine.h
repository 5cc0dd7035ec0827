#pragma once
// --lr-scheduler cosine (fairseq CosineLRSchedule, FBK revision: SGDR with warm restarts).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct CosineOptions {
  int64_t warmup_updates = 0;
  double warmup_init_lr = -1;
  double min_lr = 0.0;
  double t_mult = 1.0;
  double lr_period_updates = -1;
  double lr_shrink = 0.1;

  template <class V>
  void visit(V& v) {
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates");
    v.field("warmup_init_lr", warmup_init_lr,
            "initial learning rate during warm-up (-1: --min-lr)");
    v.field("min_lr", min_lr, "minimum learning rate of each cosine period (must be < --lr)");
    v.field("t_mult", t_mult, "factor to grow the length of each period");
    v.field("lr_period_updates", lr_period_updates,
            "updates in the first period (-1: --max-update minus --warmup-updates)");
    v.field("lr_shrink", lr_shrink, "shrink factor of the LR range after each period");
  }
  void validate() const;
};

// Cosine annealing with warm restarts (https://arxiv.org/abs/1608.03983). max = --lr (one value,
// must be > min = --min-lr), W = --warmup-updates, init = --warmup-init-lr (< 0: min),
// P = --lr-period-updates (<= 0: max_update - W), m = --t-mult, s = --lr-shrink.
//   n < W:  lr = init + n * ((max - init) / W)
//   else, with c = n - W:
//     m == 1:  i = floor(c / P), t_i = P, t_c = c - P*i
//     m != 1:  i = floor(log_m(1 - c/P*(1 - m))), t_i = m^i * P,
//              t_c = c - (1 - m^i)/(1 - m) * P
//     lr = min*s^i + 0.5 * (max*s^i - min*s^i) * (1 + cos(pi * t_c / t_i))
// Epoch boundaries leave the LR alone. State: {best}.
class CosineSchedule : public LrScheduler {
 public:
  CosineSchedule(const CosineOptions& options, const LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;

 private:
  CosineOptions options_;
  double max_lr_;
  double warmup_init_lr_;
  double period_;
  double lr_step_;
};

}  // namespace trellis
