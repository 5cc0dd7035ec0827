#pragma once
// --optimizer adam (fairseq FairseqAdam; docs/optim.md, "adam").

#include "core/interfaces/optimizer.h"

namespace trellis {

struct AdamOptions {
  std::vector<double> adam_betas = {0.9, 0.999};
  double adam_eps = 1e-8;
  double weight_decay = 0.0;
  bool use_old_adam = false;

  template <class V>
  void visit(V& v) {
    v.field("adam_betas", adam_betas, "betas for the Adam optimizer, e.g. '(0.9, 0.98)'");
    v.field("adam_eps", adam_eps, "epsilon for the Adam optimizer");
    v.field("weight_decay", weight_decay, "decoupled weight decay (p -= lr * wd * p)");
    v.field("use_old_adam", use_old_adam,
            "accepted for fairseq compatibility (fused and plain Adam are the same here)");
  }
  void validate() const;
};

// fairseq's Adam: decoupled weight decay and eps added before the bias correction. Per parameter
// with gradient g, step t (1-based), lr, (b1, b2) = --adam-betas, eps, wd (float32 math):
//   m = b1*m + (1 - b1)*g;  v = b2*v + (1 - b2)*g^2
//   denom = sqrt(v) + eps
//   step_size = lr * sqrt(1 - b2^t) / (1 - b1^t)
//   if wd != 0: p = p - (wd*lr)*p
//   p = p - step_size * m / denom
// State per parameter: step (int64 scalar), exp_avg, exp_avg_sq (float32, parameter's shape).
class Adam : public Optimizer {
 public:
  // Where eps and the bias corrections go; AdamW (optim/adamw.h) is the torch variant.
  enum class Variant { kFairseq, kTorchAdamW };

  Adam(const AdamOptions& options, std::vector<at::Tensor> params, const OptimizerContext& ctx,
       Variant variant = Variant::kFairseq);
  void step() override { step_with_scale(1.0); }
  // The gradient scale is applied inside the update's single pass (optim/adam_kernel.h).
  void step_with_scale(double grad_scale) override;
  std::optional<double> momentum() const override { return betas_[0]; }
  void set_momentum(double value) override { betas_[0] = value; }

 protected:
  std::vector<StateSpec> state_names() const override {
    return {{"step", false}, {"exp_avg", true}, {"exp_avg_sq", true}};
  }

 private:
  // Float32 CPU, contiguous parameter, gradient and moments: the one-pass kernel applies.
  static bool fusable(const at::Tensor& p, const std::map<std::string, at::Tensor>& st);

  AdamOptions options_;
  Variant variant_;
  double betas_[2];
};

}  // namespace trellis
