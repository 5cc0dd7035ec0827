#include "models/modules/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <mutex>

#include "models/modules/dropout_kernels.h"

namespace trellis {
namespace {

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

void check_p(double p) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1), got ", p);
}

// y = x * m / (1 - p); backward: dx = dy * m / (1 - p), m recomputed from the saved seed
struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p,
                            int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return dropout_apply(x, static_cast<uint64_t>(seed), p);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {dropout_apply(grad[0], seed, p), at::Tensor(), at::Tensor()};
  }
};

// y = silu(x) * m / (1 - p); backward: dx = dy * m / (1 - p) * silu'(x), from the saved x
struct SiluDropoutFunction : public torch::autograd::Function<SiluDropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p,
                            int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    ctx->save_for_backward({x});
    return silu_dropout_forward(x, static_cast<uint64_t>(seed), p);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {silu_dropout_backward(grad[0], x, seed, p), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor dropout_mask(const at::Tensor& like, double p) {
  check_p(p);
  const uint64_t seed = next_seed();
  torch::NoGradGuard no_grad;
  return dropout_apply(at::ones(like.sizes(), like.options()), seed, p);
}

at::Tensor dropout(const at::Tensor& x, double p) {
  RECORD_FUNCTION("trellis::dropout", std::vector<c10::IValue>());  // for the profiler
  check_p(p);
  const uint64_t seed = next_seed();
  if (!x.requires_grad() || !torch::GradMode::is_enabled()) return dropout_apply(x, seed, p);
  return DropoutFunction::apply(x, p, static_cast<int64_t>(seed));
}

at::Tensor silu_dropout(const at::Tensor& x, double p) {
  RECORD_FUNCTION("trellis::silu_dropout", std::vector<c10::IValue>());  // for the profiler
  check_p(p);
  const uint64_t seed = next_seed();
  if (!x.requires_grad() || !torch::GradMode::is_enabled())
    return silu_dropout_forward(x, seed, p);
  return SiluDropoutFunction::apply(x, p, static_cast<int64_t>(seed));
}

// x: any float -> same shape and dtype
at::Tensor FastDropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  if (p_ >= 1.0) return x * 0.0;
  return dropout(x, p_);
}

// x: any float -> dropout(silu(x)), same shape and dtype
at::Tensor FastDropoutImpl::silu_forward(const at::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return at::silu(x);
  if (p_ >= 1.0) return x * 0.0;
  return silu_dropout(x, p_);
}

}  // namespace trellis
