#pragma once
// LayerNorm computed in the dtype of its weights (fairseq's Fp32LayerNorm idea): under CPU
// bfloat16 autocast LibTorch 1.13 does not cast layer_norm inputs, so a bf16 activation meets
// float32 weights; the input is cast to the weights' dtype and the result back, except for
// bf16 input on the CPU, which models/modules/bf16_layer_norm.h normalizes without the casts.

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/normalization.h>

namespace trellis {

// x: (..., D) any float dtype -> (..., D) same dtype
at::Tensor layer_norm(const torch::nn::LayerNorm& ln, const at::Tensor& x);

}  // namespace trellis
