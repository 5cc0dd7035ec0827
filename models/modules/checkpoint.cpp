#include "models/modules/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace trellis {

namespace {

struct FnHolder : torch::CustomClassHolder {
  std::function<at::Tensor(const at::Tensor&)> fn;
  at::Tensor rng_state;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  // x: any -> fn(x) without a graph
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            c10::intrusive_ptr<FnHolder> holder) {
    holder->rng_state = at::detail::getDefaultCPUGenerator().get_state();
    ctx->saved_data["fn"] = c10::IValue::make_capsule(holder);
    ctx->save_for_backward({x});
    torch::NoGradGuard ng;
    return holder->fn(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto holder = c10::static_intrusive_pointer_cast<FnHolder>(ctx->saved_data["fn"].toCapsule());
    auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    auto gen = at::detail::getDefaultCPUGenerator();
    auto current = gen.get_state();
    gen.set_state(holder->rng_state);
    at::Tensor y;
    {
      torch::AutoGradMode enable(true);
      y = holder->fn(x);
    }
    gen.set_state(current);
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), at::Tensor()};
  }
};

}  // namespace

// x: any -> fn(x)
at::Tensor checkpoint(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x) {
  if (!torch::GradMode::is_enabled()) return fn(x);
  auto holder = c10::make_intrusive<FnHolder>();
  holder->fn = fn;
  return CheckpointFunction::apply(x, holder);
}

}  // namespace trellis
