#pragma once
// Padding helpers shared by the model modules. Padding masks are true at padded positions.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace trellis {

// lengths: (B) int64 -> (B, max_len) bool, true = padding; max_len < 0 means max(lengths).
at::Tensor lengths_to_padding_mask(const at::Tensor& lengths, int64_t max_len = -1);

// x: (B, T, C) or (B, C, T) float; pad: (B, T) bool -> x with padded steps set to 0.
// time_dim says where T is in x (1 or 2).
at::Tensor zero_padded(const at::Tensor& x, const at::Tensor& pad, int64_t time_dim);

}  // namespace trellis
