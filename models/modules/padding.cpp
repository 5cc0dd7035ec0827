#include "models/modules/padding.h"

#include <torch/torch.h>

namespace trellis {

// lengths: (B) int64 -> (B, max_len) bool, true = padding
at::Tensor lengths_to_padding_mask(const at::Tensor& lengths, int64_t max_len) {
  if (max_len < 0) max_len = lengths.numel() ? lengths.max().item<int64_t>() : 0;
  auto steps = torch::arange(max_len, lengths.options().dtype(torch::kLong));
  return steps.unsqueeze(0) >= lengths.to(torch::kLong).unsqueeze(1);
}

// x: (B, T, C) (time_dim 1) or (B, C, T) (time_dim 2); pad: (B, T) bool
at::Tensor zero_padded(const at::Tensor& x, const at::Tensor& pad, int64_t time_dim) {
  auto m = time_dim == 1 ? pad.unsqueeze(2) : pad.unsqueeze(1);
  return x.masked_fill(m, 0.0);
}

}  // namespace trellis
