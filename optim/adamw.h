#pragma once
// --optimizer adamw (torch.optim.AdamW semantics, PyTorch 1.13).

#include "optim/adam.h"

namespace trellis {

// The flags of adam (without --use-old-adam), with torch's default weight decay 0.01.
struct AdamWOptions {
  std::vector<double> adam_betas = {0.9, 0.999};
  double adam_eps = 1e-8;
  double weight_decay = 0.01;

  template <class V>
  void visit(V& v) {
    v.field("adam_betas", adam_betas, "betas for the AdamW optimizer, e.g. '(0.9, 0.98)'");
    v.field("adam_eps", adam_eps, "epsilon for the AdamW optimizer");
    v.field("weight_decay", weight_decay, "decoupled weight decay (p *= 1 - lr * wd)");
  }
  AdamOptions as_adam() const { return AdamOptions{adam_betas, adam_eps, weight_decay, false}; }
  void validate() const { as_adam().validate(); }
};

// torch.optim.AdamW (amsgrad off). Per parameter with gradient g, step t, lr, (b1, b2), eps, wd:
//   p = p * (1 - lr*wd)
//   m = b1*m + (1 - b1)*g;  v = b2*v + (1 - b2)*g^2
//   denom = sqrt(v) / sqrt(1 - b2^t) + eps
//   p = p - (lr / (1 - b1^t)) * m / denom
// State per parameter: step (int64 scalar), exp_avg, exp_avg_sq (float32, parameter's shape).
class AdamW : public Adam {
 public:
  AdamW(const AdamWOptions& options, std::vector<at::Tensor> params, const OptimizerContext& ctx)
      : Adam(options.as_adam(), std::move(params), ctx, Variant::kTorchAdamW) {}
};

}  // namespace trellis
