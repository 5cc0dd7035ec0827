#include "models/modules/conv1d_subsampler.h"

#include <torch/torch.h>

#include "models/modules/padding.h"

namespace trellis {

Conv1dSubsamplerImpl::Conv1dSubsamplerImpl(int64_t in_channels, int64_t mid_channels,
                                           int64_t out_channels, std::vector<int64_t> kernel_sizes,
                                           bool mask_padding)
    : kernel_sizes_(std::move(kernel_sizes)), mask_padding_(mask_padding) {
  const auto n = static_cast<int64_t>(kernel_sizes_.size());
  for (int64_t i = 0; i < n; ++i) {
    int64_t in = i == 0 ? in_channels : mid_channels / 2;
    int64_t out = i < n - 1 ? mid_channels : out_channels * 2;
    int64_t k = kernel_sizes_[i];
    conv_layers_->push_back(torch::nn::Conv1d(
        torch::nn::Conv1dOptions(in, out, k).stride(2).padding(k / 2).bias(true)));
  }
  register_module("conv_layers", conv_layers_);
}

// lengths: (B) int64 -> (B) int64
at::Tensor Conv1dSubsamplerImpl::output_lengths(const at::Tensor& lengths) const {
  auto out = lengths.to(torch::kLong);
  for (int64_t k : kernel_sizes_) {
    out = torch::div(out - k + 2 * (k / 2), 2, "floor") + 1;
  }
  return out;
}

// x: (B, T, C_in) float; lengths: (B) int64 -> ((T', B, D), (B))
std::pair<at::Tensor, at::Tensor> Conv1dSubsamplerImpl::forward(const at::Tensor& x,
                                                                const at::Tensor& lengths) {
  auto h = x.transpose(1, 2).contiguous();  // B x C x T
  auto lens = lengths.to(torch::kLong);
  for (size_t i = 0; i < conv_layers_->size(); ++i) {
    h = conv_layers_[i]->as<torch::nn::Conv1d>()->forward(h);
    h = torch::glu(h, 1);
    int64_t k = kernel_sizes_[i];
    lens = torch::div(lens - k + 2 * (k / 2), 2, "floor") + 1;
    if (mask_padding_) h = zero_padded(h, lengths_to_padding_mask(lens, h.size(2)), 2);
  }
  return {h.permute({2, 0, 1}).contiguous(), lens};  // T' x B x D
}

}  // namespace trellis
