#include "models/modules/norm.h"

#include <torch/torch.h>

namespace trellis {

// x: (..., D) -> (..., D), same dtype as x
at::Tensor layer_norm(const torch::nn::LayerNorm& ln, const at::Tensor& x) {
  const auto wt = ln->weight.defined() ? ln->weight.scalar_type() : x.scalar_type();
  const auto& o = ln->options;
  auto y = torch::layer_norm(x.to(wt), o.normalized_shape(), ln->weight, ln->bias, o.eps());
  return y.to(x.scalar_type());
}

}  // namespace trellis
