#pragma once
// --lr-scheduler fixed (fairseq FixedSchedule).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct FixedOptions {
  std::optional<int64_t> force_anneal;
  double lr_shrink = 0.1;
  int64_t warmup_updates = 0;

  template <class V>
  void visit(V& v) {
    v.field("force_anneal", force_anneal,
            "force annealing at this epoch (epochs start at 1): lr * lr_shrink^(e+1-N)");
    v.field("lr_shrink", lr_shrink, "shrink factor for annealing, lr_new = lr * lr_shrink");
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates");
  }
  void validate() const;
};

// A per-epoch LR, with an optional per-update warm-up factor. lrs = --lr (one value, or one per
// epoch), A = --force-anneal, W = --warmup-updates. At the start of epoch e (1-based):
//   lr_e = lrs[min(e - 1, len(lrs) - 1)]              if A is unset or e < A
//   lr_e = lrs[-1] * lr_shrink^(e + 1 - A)            otherwise
// and the LR becomes factor * lr_e with the current warm-up factor (1/W before any update,
// 1 without warm-up). After each update n: while n < W, factor = (n + 1)/W and LR = factor * lr_e;
// afterwards LR = lr_e. Before the first epoch starts, lr_e = lrs[0].
// State: {lr: lr_e, warmup_factor, best, optimizer_lr}.
class FixedSchedule : public LrScheduler {
 public:
  FixedSchedule(const FixedOptions& options, const LrSchedulerContext& ctx);
  double step_begin_epoch(int64_t epoch) override;
  double step_update(int64_t num_updates) override;
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& state) override;

  double next_lr(int64_t epoch) const;  // lr_e of epoch e

 private:
  FixedOptions options_;
  std::vector<double> lrs_;
  double epoch_lr_;  // fairseq's self.lr
  double warmup_factor_;
};

}  // namespace trellis
