#pragma once
// --lr-scheduler reduce_lr_on_plateau (fairseq ReduceLROnPlateauLRSchedule around PyTorch's
// torch.optim.lr_scheduler.ReduceLROnPlateau).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct ReduceLrOnPlateauOptions {
  double lr_shrink = 0.1;
  double lr_threshold = 1e-4;
  int64_t lr_patience = 0;
  int64_t warmup_updates = 0;
  double warmup_init_lr = -1;

  template <class V>
  void visit(V& v) {
    v.field("lr_shrink", lr_shrink, "shrink factor: lr_new = lr * lr_shrink on a plateau");
    v.field("lr_threshold", lr_threshold,
            "relative improvement of the validation metric that counts as better");
    v.field("lr_patience", lr_patience,
            "epochs without improvement after which the learning rate is reduced");
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates");
    v.field("warmup_init_lr", warmup_init_lr,
            "initial learning rate during warm-up (-1: 0 with warm-up, else --lr)");
  }
  void validate() const;
};

// Shrinks the LR when the first validation subset's metric stops improving (PyTorch
// ReduceLROnPlateau: mode 'max' with --maximize-best-checkpoint-metric, else 'min'; relative
// threshold; cooldown 0; min_lr 0; eps 1e-8). peak = --lr (one value), W = --warmup-updates,
// init = --warmup-init-lr (< 0: 0 if W > 0, else peak).
//   warm-up, per update n <= W:  lr = init + n * ((peak - init) / W)
//   at the end of epoch e with a metric v, once an update n > W has been seen:
//     better = v < best*(1 - threshold)   (min)   |   v > best*(1 + threshold)   (max)
//     better: best = v, bad = 0; else bad += 1
//     bad > --lr-patience:  lr = lr * --lr-shrink (only if that lowers it by > 1e-8), bad = 0
//   otherwise (no metric or still warming up): last_epoch = e, LR unchanged.
// State: {best, last_epoch, num_bad_epochs, warmup_end, optimizer_lr}.
class ReduceLrOnPlateauSchedule : public LrScheduler {
 public:
  ReduceLrOnPlateauSchedule(const ReduceLrOnPlateauOptions& options,
                            const LrSchedulerContext& ctx);
  double step(int64_t epoch, std::optional<double> val_loss) override;
  double step_update(int64_t num_updates) override;
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& state) override;

 private:
  bool is_better(double a, double best) const;

  ReduceLrOnPlateauOptions options_;
  bool maximize_;
  double warmup_init_lr_;
  double lr_step_ = 0.0;
  bool warmup_end_;
  // PyTorch ReduceLROnPlateau state.
  double plateau_best_;
  int64_t last_epoch_ = 0;
  int64_t num_bad_epochs_ = 0;
};

}  // namespace trellis
