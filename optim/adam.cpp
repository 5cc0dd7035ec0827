#include "optim/adam.h"

#include "optim/adam_kernel.h"

#include <torch/torch.h>

#include <cmath>

namespace trellis {

void AdamOptions::validate() const {
  TRELLIS_CHECK(adam_betas.size() == 2, ConfigError,
                "--adam-betas: needs two values, e.g. '(0.9, 0.98)' (got {})", adam_betas.size());
  for (double b : adam_betas) {
    TRELLIS_CHECK(b >= 0 && b < 1, ConfigError, "--adam-betas: each beta must be in [0, 1) (got {})",
                  b);
  }
  TRELLIS_CHECK(adam_eps >= 0, ConfigError, "--adam-eps: must be >= 0 (got {})", adam_eps);
  TRELLIS_CHECK(weight_decay >= 0, ConfigError, "--weight-decay: must be >= 0 (got {})",
                weight_decay);
}

Adam::Adam(const AdamOptions& options, std::vector<at::Tensor> params, const OptimizerContext& ctx,
           Variant variant)
    : Optimizer(std::move(params), ctx.lr), options_(options), variant_(variant) {
  options_.validate();
  betas_[0] = options_.adam_betas[0];
  betas_[1] = options_.adam_betas[1];
}

bool Adam::fusable(const at::Tensor& p, const std::map<std::string, at::Tensor>& st) {
  const at::Tensor& g = p.grad();
  auto ok = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous() &&
           t.numel() == p.numel();
  };
  return ok(p) && ok(g) && (st.empty() || (ok(st.at("exp_avg")) && ok(st.at("exp_avg_sq"))));
}

void Adam::step_with_scale(double grad_scale) {
  at::NoGradGuard no_grad;
  const double beta1 = betas_[0], beta2 = betas_[1];
  const bool adamw = variant_ == Variant::kTorchAdamW;
  std::vector<AdamKernelTensor> fused;  // float32 CPU parameters: one pass each (adam_kernel.h)
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    TRELLIS_CHECK(!p.grad().is_sparse(), ConfigError, "{} does not support sparse gradients",
                  adamw ? "adamw" : "adam");
    auto& st = state_[i];
    const bool fast = fusable(p, st);
    at::Tensor p32 = p.scalar_type() == at::kFloat ? p : p.to(at::kFloat);
    if (st.empty()) {
      st["step"] = at::zeros({}, at::TensorOptions().dtype(at::kLong));
      st["exp_avg"] = at::zeros_like(p32, at::MemoryFormat::Contiguous);
      st["exp_avg_sq"] = at::zeros_like(p32, at::MemoryFormat::Contiguous);
    }
    at::Tensor& exp_avg = st["exp_avg"];
    at::Tensor& exp_avg_sq = st["exp_avg_sq"];
    st["step"].add_(1);
    const auto t = static_cast<double>(st["step"].item<int64_t>());

    const double bias_correction1 = 1 - std::pow(beta1, t);
    const double bias_correction2 = 1 - std::pow(beta2, t);
    // fairseq: eps added before the bias correction, which goes into the step size; torch's
    // AdamW: decay first, eps added after the second-moment bias correction.
    const double step_size = adamw ? lr_ / bias_correction1
                                   : lr_ * std::sqrt(bias_correction2) / bias_correction1;
    if (fast) {
      AdamKernelArgs a;
      a.beta1 = static_cast<float>(beta1);
      a.beta2 = static_cast<float>(beta2);
      a.one_minus_beta1 = static_cast<float>(1 - beta1);
      a.one_minus_beta2 = static_cast<float>(1 - beta2);
      a.eps = static_cast<float>(options_.adam_eps);
      a.grad_scale = static_cast<float>(grad_scale);
      a.torch_adamw = adamw;
      a.wd_lr = static_cast<float>(options_.weight_decay * lr_);
      a.one_minus_wd_lr = static_cast<float>(1 - lr_ * options_.weight_decay);
      a.step_size = static_cast<float>(step_size);
      a.bc2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
      fused.push_back({p.data_ptr<float>(), p.grad().data_ptr<float>(),
                       exp_avg.data_ptr<float>(), exp_avg_sq.data_ptr<float>(), p.numel(), a});
      continue;
    }
    at::Tensor grad = p.grad().to(at::kFloat);
    if (grad_scale != 1.0) grad = grad * grad_scale;
    if (adamw) {
      p32.mul_(1 - lr_ * options_.weight_decay);
      exp_avg.mul_(beta1).add_(grad, 1 - beta1);
      exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      at::Tensor denom =
          (exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(options_.adam_eps);
      p32.addcdiv_(exp_avg, denom, -step_size);
    } else {
      exp_avg.mul_(beta1).add_(grad, 1 - beta1);
      exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      at::Tensor denom = exp_avg_sq.sqrt().add_(options_.adam_eps);
      if (options_.weight_decay != 0) p32.add_(p32, -options_.weight_decay * lr_);
      p32.addcdiv_(exp_avg, denom, -step_size);
    }
    if (!p32.is_same(p)) p.copy_(p32);
  }
  adam_update(fused);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::optimizer_registry(), "adam", trellis::Adam, trellis::AdamOptions,
                 "fairseq's Adam (decoupled weight decay, eps before bias correction)");
