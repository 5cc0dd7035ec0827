#include "models/modules/gelu.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/torch.h>

namespace trellis {

namespace {

struct ContiguousGelu : torch::autograd::Function<ContiguousGelu> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return at::gelu(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {at::gelu_backward(grads[0].contiguous(), x.contiguous())};
  }
};

}  // namespace

// x: any float -> same shape
at::Tensor gelu(const at::Tensor& x) {
  if (!x.requires_grad() || !at::GradMode::is_enabled()) return at::gelu(x);
  return ContiguousGelu::apply(x);
}

}  // namespace trellis
