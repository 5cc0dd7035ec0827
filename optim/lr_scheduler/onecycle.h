#pragma once
// --lr-scheduler onecycle (PyTorch torch.optim.lr_scheduler.OneCycleLR semantics, driven per
// update; docs/optim.md, "onecycle").

#include "core/interfaces/lr_scheduler.h"

namespace trellis {

struct OnecycleOptions {
  std::optional<int64_t> total_num_update;  // None: --max-update
  double pct_start = 0.3;
  std::string anneal_strategy = "cos";
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
  bool cycle_momentum = false;  // PyTorch's default is true; off here (it overrides beta1)
  double base_momentum = 0.85;
  double max_momentum = 0.95;

  template <class V>
  void visit(V& v) {
    v.field("total_num_update", total_num_update,
            "updates in the cycle (None: --max-update)");
    v.field("pct_start", pct_start, "fraction of the cycle spent increasing the LR");
    v.field("anneal_strategy", anneal_strategy, "annealing curve").choices({"cos", "linear"});
    v.field("div_factor", div_factor, "initial LR = --lr / div_factor");
    v.field("final_div_factor", final_div_factor, "final LR = initial LR / final_div_factor");
    v.field("three_phase", three_phase,
            "three phases (up, back down to the initial LR, then annihilate) instead of two");
    v.field("cycle_momentum", cycle_momentum,
            "cycle the momentum (Adam beta1) inversely to the LR; overrides --adam-betas[0]");
    v.field("base_momentum", base_momentum, "momentum at the LR peak (with --cycle-momentum)");
    v.field("max_momentum", max_momentum, "momentum at the cycle ends (with --cycle-momentum)");
  }
  void validate() const;
};

// One cycle (https://arxiv.org/abs/1708.07120), as PyTorch's OneCycleLR with step = num_updates.
// max = --lr (one value), T = total steps, initial = max/div_factor, min = initial/final_div_factor.
// Phases (end step, LR from -> to, momentum from -> to):
//   two-phase:   pct*T - 1: initial -> max, max_m -> base_m;  T - 1: max -> min, base_m -> max_m
//   three-phase: pct*T - 1: initial -> max, max_m -> base_m;  2*pct*T - 2: max -> initial,
//                base_m -> max_m;  T - 1: initial -> min, max_m -> max_m
// In the phase holding step s (the first whose end >= s, or the last): p = (s - start)/(end -
// start), start = the previous phase's end (0 first);
//   cos: to + (from - to)/2 * (cos(pi*p) + 1)      linear: (to - from)*p + from
// lr(n) = curve(min(n, T - 1)): PyTorch raises past step T (and at step T extrapolates past the
// curve's end); here the LR stays at its final value.
// momentum(): the cycled beta1 with --cycle-momentum, else none. State: {best}.
class OnecycleSchedule : public LrScheduler {
 public:
  OnecycleSchedule(const OnecycleOptions& options, const LrSchedulerContext& ctx);
  double step_update(int64_t num_updates) override;
  std::optional<double> momentum() const override;

  int64_t total_steps() const { return total_steps_; }

 private:
  double anneal(double from, double to, double pct) const;

  struct Phase {
    double end_step, start_lr, end_lr, start_momentum, end_momentum;
  };
  OnecycleOptions options_;
  int64_t total_steps_;
  std::vector<Phase> phases_;
  double momentum_ = 0.0;
};

}  // namespace trellis
