#pragma once
// A depthwise 1-D convolution on the time-major layout, with odd kernel K and "same" padding
// P = (K - 1) / 2:
//   y[t, b, c] = bias[c] + sum_k weight[c, 0, k] * x[t + k - P, b, c]   (x = 0 outside [0, T))
// which is nn::Conv1d(C, C, K, groups=C, padding=P) on x.permute(1, 2, 0), permuted back.
// LibTorch's CPU depthwise convolution runs the conformer's shapes (C 144-512, K 31) at about
// 1 GFLOP/s, and the (B, C, T) layout it needs costs a transposing copy each way in the forward
// and again in the backward. Here the loops run along the channels, which are contiguous in
// (T, B, C), vectorised for AVX-512 or AVX2 (picked at run time), parallel over rows (t, b).
// The weight gradient sums fixed blocks of rows in a fixed order: results do not depend on the
// number of threads. CPU float32 and bfloat16 inputs run here (bfloat16 is computed and returned
// in float32, as autocast would for a float32 weight); other devices and dtypes go through
// at::conv1d on the permuted view.

#include <ATen/core/Tensor.h>

namespace trellis {

// x: (T, B, C); weight: (C, 1, K), K odd; bias: (C) or undefined -> (T, B, C). A CPU x whose
// channels are contiguous (a (T, B, C) tensor, or a (B, T, C) one transposed) is read in place
// and y has its strides; any other x is made contiguous first.
at::Tensor depthwise_conv1d_tbc(const at::Tensor& x, const at::Tensor& weight,
                                const at::Tensor& bias);

}  // namespace trellis
