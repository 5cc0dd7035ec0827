#pragma once
// One affine layer through ATen's at::linear rather than torch::nn::Linear::forward.
//
// LibTorch 1.13's C++ Linear::forward (torch::nn::functional::linear) runs a matmul and then a
// separate in-place add of the bias for any input that is not 2-d; at::linear, which Python's
// F.linear calls, folds the bias into one addmm on the (N*T, in) view of a contiguous 3-d input.
// Same values up to float rounding; one pass over the output fewer, forward and backward.

#include <ATen/core/Tensor.h>
#include <ATen/ops/linear.h>
#include <torch/nn/modules/linear.h>

namespace trellis {

// x: (..., in) -> (..., out)
inline at::Tensor linear(const torch::nn::Linear& layer, const at::Tensor& x) {
  return at::linear(x, layer->weight, layer->bias);
}

}  // namespace trellis
