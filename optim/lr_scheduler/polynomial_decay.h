#pragma once
// --lr-scheduler polynomial_decay (fairseq PolynomialDecayLRSchedule, FBK revision).

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct PolynomialDecayOptions {
  int64_t warmup_updates = 0;
  std::optional<int64_t> force_anneal;
  double end_learning_rate = 0.0;
  double power = 1.0;
  std::optional<int64_t> total_num_update;  // None: --max-update

  template <class V>
  void visit(V& v) {
    v.field("warmup_updates", warmup_updates,
            "warm up the learning rate linearly for the first N updates");
    v.field("force_anneal", force_anneal,
            "from this epoch on, each epoch restarts the decay from the current LR");
    v.field("end_learning_rate", end_learning_rate, "learning rate to decay to");
    v.field("power", power, "decay exponent");
    v.field("total_num_update", total_num_update,
            "updates over which to decay the learning rate (None: --max-update)");
  }
  void validate() const;
};

// Linear warm-up, then polynomial decay to --end-learning-rate. base = --lr[0] (see below),
// W = --warmup-updates, T = --total-num-update (default --max-update, must be > 0), end, p:
//   W > 0 and n <= W:  lr = (n / W) * base          (the warm-up factor n/W is remembered)
//   n >= T:            lr = end
//   otherwise:         lr = (base - end) * (1 - (n - W)/(T - W))^p + end
// At the start of epoch e: base = lrs[min(e, len(lrs) - 1)] (indexed by e, not e-1, as FBK
// does) if --force-anneal is unset or e < force_anneal, else base = the current LR (already
// decayed: the decay compounds epoch after epoch); the LR becomes warmup_factor * base.
// State: {lr: base, warmup_factor, best, optimizer_lr}.
class PolynomialDecaySchedule : public LrScheduler {
 public:
  PolynomialDecaySchedule(const PolynomialDecayOptions& options, const LrSchedulerContext& ctx);
  double step_begin_epoch(int64_t epoch) override;
  double step_update(int64_t num_updates) override;
  std::map<std::string, double> state_dict() const override;
  void load_state_dict(const std::map<std::string, double>& state) override;

 private:
  PolynomialDecayOptions options_;
  std::vector<double> lrs_;
  double base_lr_;  // fairseq's self.lr
  double warmup_factor_;
  double total_num_update_;
};

}  // namespace trellis
