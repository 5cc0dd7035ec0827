#include "models/modules/conv2d_subsampler.h"
#include "models/modules/linear.h"

#include <torch/torch.h>

namespace trellis {

namespace nn = torch::nn;

Conv2dSubsamplerImpl::Conv2dSubsamplerImpl(int64_t input_channels, int64_t feat,
                                           int64_t conv_out_channels, int64_t embed_dim,
                                           int64_t layers)
    : in_channels_(input_channels), feat_(feat), layers_(layers) {
  conv_ = nn::Sequential();
  int64_t c = input_channels, f = feat;
  for (int64_t i = 0; i < layers; ++i) {
    conv_->push_back(nn::Conv2d(nn::Conv2dOptions(c, conv_out_channels, 3).stride(2).padding(1)));
    conv_->push_back(nn::ReLU());
    c = conv_out_channels;
    f = (f - 1) / 2 + 1;
  }
  register_module("conv", conv_);
  out_ = register_module("out", nn::Linear(conv_out_channels * f, embed_dim));
}

// x: (B, T, C_in*F); lengths: (B) -> ((T', B, D), (B))
std::pair<at::Tensor, at::Tensor> Conv2dSubsamplerImpl::forward(const at::Tensor& x,
                                                                const at::Tensor& lengths) {
  const int64_t B = x.size(0), T = x.size(1);
  auto h = x.view({B, T, in_channels_, feat_}).transpose(1, 2).contiguous();  // B x C x T x F
  h = conv_->forward(h);                                                      // B x C' x T' x F'
  const int64_t t_out = h.size(2);
  h = linear(out_, h.transpose(1, 2).reshape({B, t_out, -1}));  // B x T' x D
  auto lens = lengths.to(torch::kLong);
  for (int64_t i = 0; i < layers_; ++i) lens = torch::div(lens - 1, 2, "floor") + 1;
  return {h.transpose(0, 1).contiguous(), lens.clamp_max(t_out)};
}

}  // namespace trellis
