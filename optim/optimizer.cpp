#include "optim/optimizer.h"

#include <torch/torch.h>

namespace trellis {

void Optimizer::zero_grad() {
  for (auto& p : params_) {
    if (p.grad().defined()) {
      p.mutable_grad().detach_();
      p.mutable_grad().zero_();
    }
  }
}

void Optimizer::set_momentum(double) {
  throw ConfigError("this optimizer has no momentum to set (use --no-cycle-momentum)");
}

OptimizerRegistry& optimizer_registry() {
  static OptimizerRegistry registry("optimizer", "--optimizer");
  return registry;
}

// Create the registry during start-up, so --help lists it even when nothing is registered.
static OptimizerRegistry& optimizer_registry_instance = optimizer_registry();

}  // namespace trellis
