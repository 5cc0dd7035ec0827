#include "optim/sgd.h"

#include <torch/torch.h>

namespace trellis {

void SgdOptions::validate() const {
  TRELLIS_CHECK(momentum >= 0, ConfigError, "--momentum: must be >= 0 (got {})", momentum);
  TRELLIS_CHECK(weight_decay >= 0, ConfigError, "--weight-decay: must be >= 0 (got {})",
                weight_decay);
  TRELLIS_CHECK(!nesterov || momentum > 0, ConfigError,
                "--nesterov: Nesterov momentum requires --momentum > 0");
}

Sgd::Sgd(const SgdOptions& options, std::vector<at::Tensor> params, const OptimizerContext& ctx)
    : Optimizer(std::move(params), ctx.lr), options_(options), momentum_(options.momentum) {
  options_.validate();
}

void Sgd::step() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    at::Tensor p32 = p.scalar_type() == at::kFloat ? p : p.to(at::kFloat);
    at::Tensor d_p = p.grad().to(at::kFloat);
    if (options_.weight_decay != 0) d_p = d_p.add(p32, options_.weight_decay);
    if (momentum_ != 0) {
      auto& st = state_[i];
      auto it = st.find("momentum_buffer");
      if (it == st.end()) {
        it = st.emplace("momentum_buffer", d_p.clone().detach()).first;
      } else {
        it->second.mul_(momentum_).add_(d_p, 1);  // dampening 0
      }
      if (options_.nesterov) {
        d_p = d_p.add(it->second, momentum_);
      } else {
        d_p = it->second;
      }
    }
    p32.add_(d_p, -lr_);
    if (!p32.is_same(p)) p.copy_(p32);
  }
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::optimizer_registry(), "sgd", trellis::Sgd, trellis::SgdOptions,
                 "torch.optim.SGD (--momentum, --nesterov, L2 --weight-decay)");
