#pragma once
// --lr-scheduler tri_stage (fairseq TriStageLRSchedule; https://arxiv.org/abs/1904.08779).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct TriStageOptions {
  int64_t warmup_steps = 0;
  int64_t hold_steps = 0;
  int64_t decay_steps = 0;
  std::vector<double> phase_ratio;  // empty = None
  double init_lr_scale = 0.01;
  double final_lr_scale = 0.01;

  template <class V>
  void visit(V& v) {
    v.field("warmup_steps", warmup_steps, "updates of the linear warm-up stage");
    v.field("hold_steps", hold_steps, "updates of the constant stage");
    v.field("decay_steps", decay_steps, "updates of the exponential decay stage");
    v.field("phase_ratio", phase_ratio,
            "warm-up,hold,decay fractions of --max-update (sum 1); overrides the steps");
    v.field("init_lr_scale", init_lr_scale, "initial LR = --lr * this");
    v.field("final_lr_scale", final_lr_scale, "final LR = --lr * this");
  }
  void validate() const;
};

// Three stages: linear warm-up, hold, exponential decay, then constant. peak = --lr (one
// value), init = peak*init_lr_scale, final = peak*final_lr_scale; with --phase-ratio (r0,r1,r2)
// the steps are w = int(max_update*r0), h = int(max_update*r1), d = int(max_update*r2), else
// --warmup-steps/--hold-steps/--decay-steps. decay_factor = -ln(final_lr_scale)/d.
//   n < w:           lr = init + ((peak - init)/w) * n
//   n < w + h:       lr = peak
//   n <= w + h + d:  lr = peak * exp(-decay_factor * (n - w - h))
//   else:            lr = final
// (fairseq divides by d even when d = 0; here d = 0 simply skips the decay stage.)
// Epoch boundaries leave the LR alone. State: {best}.
class TriStageSchedule : public LrScheduler {
 public:
  TriStageSchedule(const TriStageOptions& options, const LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;

  int64_t warmup_steps() const { return warmup_steps_; }
  int64_t hold_steps() const { return hold_steps_; }
  int64_t decay_steps() const { return decay_steps_; }

 private:
  double peak_lr_, init_lr_, final_lr_;
  int64_t warmup_steps_, hold_steps_, decay_steps_;
  double warmup_rate_, decay_factor_;
};

}  // namespace trellis
