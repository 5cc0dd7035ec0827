#pragma once
// Optimizers over a fixed list of parameters (fairseq's FairseqOptimizer). The trainer sets the
// LR from the scheduler before each update; step() reads each parameter's .grad().
// Built-ins (one pair per registry name, docs/optim.md): adam (fairseq), adamw and sgd (torch).

#include <ATen/core/Tensor.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/registry.h"

namespace trellis {

// Named tensors, e.g. "state.3.exp_avg" (float, shape of parameter 3), "state.3.step" (scalar).
using TensorMap = std::map<std::string, at::Tensor>;

// What an optimizer needs besides its own options.
struct OptimizerContext {
  double lr = 0.0;  // initial LR (the first --lr value); the scheduler sets it from then on
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<at::Tensor> params, double lr);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient, with the current LR.
  virtual void step() = 0;
  // The same update with every gradient multiplied by grad_scale first (the trainer's
  // 1/sample_size times the clipping coefficient; fairseq's optimizer.step(scale=...)). This
  // default scales .grad() in place and calls step(); an optimizer that folds the scale into its
  // update overrides it and leaves .grad() as it is.
  virtual void step_with_scale(double grad_scale);
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  // The first moment coefficient (Adam beta1, SGD momentum); OneCycle cycles it.
  virtual std::optional<double> momentum() const { return std::nullopt; }
  virtual void set_momentum(double value);  // throws ConfigError when there is none

  // Per-parameter state for checkpoints: "state.<i>.<name>" for each parameter i that has state
  // and each name of state_names(). load throws CheckpointError naming the key on an unknown
  // key, a missing key or a shape mismatch; tensors are copied to the parameter's device.
  virtual TensorMap state_dict() const;
  virtual void load_state_dict(const TensorMap& state);

  const std::vector<at::Tensor>& params() const { return params_; }

 protected:
  // The state an optimizer keeps per parameter: names, and whether each has the parameter's
  // shape (else it is a scalar, like "step").
  struct StateSpec {
    std::string name;
    bool param_shaped;
  };
  virtual std::vector<StateSpec> state_names() const = 0;

  std::vector<at::Tensor> params_;
  double lr_;
  // state_[i]: parameter i's state by name (empty until its first update).
  std::vector<std::map<std::string, at::Tensor>> state_;
};

using OptimizerRegistry = Registry<Optimizer, std::vector<at::Tensor>, const OptimizerContext&>;
OptimizerRegistry& optimizer_registry();

}  // namespace trellis
