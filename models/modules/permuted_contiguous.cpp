#include "models/modules/permuted_contiguous.h"

#include <torch/torch.h>

namespace trellis {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct PermutedContiguous : torch::autograd::Function<PermutedContiguous> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, std::vector<int64_t> dims) {
    std::vector<int64_t> inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[static_cast<size_t>(dims[i])] = static_cast<int64_t>(i);
    ctx->saved_data["inverse"] = inverse;
    return x.permute(dims).contiguous();
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto inverse = ctx->saved_data["inverse"].toIntVector();
    return {grad[0].permute(inverse).contiguous(), at::Tensor()};
  }
};

}  // namespace

at::Tensor permuted_contiguous(const at::Tensor& x, std::vector<int64_t> dims) {
  TORCH_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "permuted_contiguous: ", dims.size(),
              " dims for a ", x.dim(), "-d tensor");
  if (!x.requires_grad()) return x.permute(dims).contiguous();
  return PermutedContiguous::apply(x, std::move(dims));
}

}  // namespace trellis
