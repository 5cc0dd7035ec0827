#pragma once
// --optimizer sgd (torch.optim.SGD semantics, PyTorch 1.13).

#include "core/interfaces/optimizer.h"

namespace trellis {

struct SgdOptions {
  double momentum = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;

  template <class V>
  void visit(V& v) {
    v.field("momentum", momentum, "momentum factor");
    v.field("weight_decay", weight_decay, "L2 penalty added to the gradient (g += wd * p)");
    v.field("nesterov", nesterov, "Nesterov momentum (needs --momentum > 0)");
  }
  void validate() const;
};

// torch.optim.SGD (dampening 0). Per parameter with gradient g, lr, mu = --momentum, wd:
//   d = g + wd*p                                  (when wd != 0)
//   mu != 0:  buf = d at the first step, else buf = mu*buf + d
//             d = d + mu*buf  (nesterov)  or  d = buf
//   p = p - lr*d
// State per parameter (only with momentum): momentum_buffer (float32, parameter's shape).
class Sgd : public Optimizer {
 public:
  Sgd(const SgdOptions& options, std::vector<at::Tensor> params, const OptimizerContext& ctx);
  void step() override;
  std::optional<double> momentum() const override { return momentum_; }
  void set_momentum(double value) override { momentum_ = value; }

 protected:
  std::vector<StateSpec> state_names() const override { return {{"momentum_buffer", true}}; }

 private:
  SgdOptions options_;
  double momentum_;
};

}  // namespace trellis
