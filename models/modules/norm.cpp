#include "models/modules/norm.h"

#include <torch/torch.h>

#include "models/modules/bf16_layer_norm.h"

namespace trellis {

// x: (..., D) -> (..., D), same dtype as x
at::Tensor layer_norm(const torch::nn::LayerNorm& ln, const at::Tensor& x) {
  const auto wt = ln->weight.defined() ? ln->weight.scalar_type() : x.scalar_type();
  const auto& o = ln->options;
  // bf16 rows, float32 weights on the CPU (autocast): one fused pass, no float32 copies
  if (x.device().is_cpu() && x.scalar_type() == at::kBFloat16 && wt == at::kFloat &&
      ln->bias.defined() && o.normalized_shape().size() == 1)
    return bf16_layer_norm(x, ln->weight, ln->bias, o.eps());
  auto y = torch::layer_norm(x.to(wt), o.normalized_shape(), ln->weight, ln->bias, o.eps());
  return y.to(x.scalar_type());
}

}  // namespace trellis
