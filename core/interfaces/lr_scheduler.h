#pragma once
// Learning-rate schedules with fairseq's protocol (docs/optim.md, "How the trainer drives them"):
//   after the optimizer is built:   step_update(0)             -> LR of update 1
//   after update k:                 step_update(k)             -> LR of update k+1
//   at the start of epoch e:        step_begin_epoch(e), then step_update(num_updates)
//   at the end of epoch e:          step(e, first_valid_loss), then step_update(num_updates)
// Each call returns the new LR, which the trainer copies into the optimizer. A schedule keeps
// the LR it last set (fairseq reads it back from the optimizer; nothing else changes it).
// The built-in schedules live next to this file, one pair per registry name (docs/optim.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"

namespace trellis {

// What every schedule may read besides its own options (fairseq's optimization group).
struct LrSchedulerContext {
  std::vector<double> lr;                        // --lr (one value, or one per epoch for fixed)
  int64_t max_update = 0;                        // --max-update (0 = no limit)
  bool maximize_best_checkpoint_metric = false;  // reduce_lr_on_plateau's mode
  double optimizer_momentum = 0.9;               // beta1 given to the optimizer (onecycle)
};

class LrScheduler {
 public:
  virtual ~LrScheduler() = default;

  virtual double step_begin_epoch(int64_t epoch) { return lr_; }
  // fairseq's base step(): keeps the best (lowest) validation loss seen.
  virtual double step(int64_t epoch, std::optional<double> val_loss);
  virtual double step_update(int64_t num_updates) { return lr_; }

  double lr() const { return lr_; }
  // Momentum (Adam beta1) to write into the optimizer, for schedules that cycle it.
  virtual std::optional<double> momentum() const { return std::nullopt; }

  // Scalars saved in checkpoints; restored unless --reset-lr-scheduler. The base saves "best"
  // (when set) and "optimizer_lr" (the LR last set, which fairseq keeps in the optimizer's
  // param groups); subclasses add their own keys and call the base.
  virtual std::map<std::string, double> state_dict() const;
  virtual void load_state_dict(const std::map<std::string, double>& state);

 protected:
  // The single --lr value of schedules that take exactly one; ConfigError naming `scheduler`
  // otherwise (fairseq: "Cannot use a fixed learning rate schedule with ...").
  static double single_lr(const LrSchedulerContext& ctx, const char* scheduler);
  // state.at(key) or CheckpointError naming the key.
  static double require(const std::map<std::string, double>& state, const std::string& key);

  double lr_ = 0.0;
  std::optional<double> best_;
};

using LrSchedulerRegistry = Registry<LrScheduler, const LrSchedulerContext&>;
LrSchedulerRegistry& lr_scheduler_registry();

}  // namespace trellis
