#pragma once
// LayerNorm of bfloat16 rows with float32 weight and bias, in one pass each way: what CPU bf16
// autocast needs (LibTorch 1.13 has no layer_norm of mixed dtypes, and its bf16 one measured 3x
// slower than float32 with both casts; docs/benchmarks.md). Statistics and arithmetic in float32
// (as ATen's float32 layer_norm, then rounded to bf16); the weight and bias gradients are float32,
// summed in fixed blocks of rows, so no result depends on the thread count.

#include <ATen/core/Tensor.h>

namespace trellis {

// x: (..., D) bf16 on the CPU; weight, bias: (D) float32 -> (..., D) bf16
// y = (x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var over the last axis.
at::Tensor bf16_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           double eps);

}  // namespace trellis
