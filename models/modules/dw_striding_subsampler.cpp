#include "models/modules/dw_striding_subsampler.h"

#include <torch/torch.h>

#include "core/error.h"

namespace trellis {

namespace nn = torch::nn;

namespace {

// x: (B, C, T, F); lengths: (B) -> x with time steps t >= lengths[b] set to 0
at::Tensor mask_time(const at::Tensor& x, const at::Tensor& lengths) {
  auto steps = torch::arange(x.size(2), lengths.options().dtype(torch::kLong));
  auto pad = steps.unsqueeze(0) >= lengths.to(torch::kLong).unsqueeze(1);  // B x T
  return x.masked_fill(pad.view({x.size(0), 1, x.size(2), 1}), 0.0);
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                        .stride(stride)
                        .padding(kernel / 2)
                        .groups(groups));
}

}  // namespace

at::Tensor dw_striding_step(const at::Tensor& lengths) {
  return torch::div(lengths - 1, 2, "floor") + 1;
}

DwStridingSubsamplerImpl::DwStridingSubsamplerImpl(int64_t feat_in, int64_t channels,
                                                   int64_t out_dim)
    : feat_in_(feat_in) {
  TRELLIS_CHECK(feat_in > 0 && channels > 0 && out_dim > 0, ConfigError,
                "dw_striding subsampler: features {}, channels {}, output {} must be positive",
                feat_in, channels, out_dim);
  out_freq_ = feat_in;
  for (int i = 0; i < 3; ++i) out_freq_ = (out_freq_ - 1) / 2 + 1;
  auto stack = register_module("conv", std::make_shared<nn::Module>());
  conv0_ = stack->register_module("0", conv(1, channels, 3, 2, 1));
  conv2_ = stack->register_module("2", conv(channels, channels, 3, 2, channels));
  conv3_ = stack->register_module("3", conv(channels, channels, 1, 1, 1));
  conv5_ = stack->register_module("5", conv(channels, channels, 3, 2, channels));
  conv6_ = stack->register_module("6", conv(channels, channels, 1, 1, 1));
  out_ = register_module("out", nn::Linear(channels * out_freq_, out_dim));
}

// x: (B, T, F); lengths: (B) -> ((B, T', D), (B))
std::pair<at::Tensor, at::Tensor> DwStridingSubsamplerImpl::forward(const at::Tensor& x,
                                                                    const at::Tensor& lengths) {
  TRELLIS_CHECK(x.dim() == 3 && x.size(2) == feat_in_, DataError,
                "dw_striding subsampler: expected (B, T, {}) features, got {} dims, last {}",
                feat_in_, x.dim(), x.dim() ? x.size(-1) : 0);
  auto len = lengths.to(x.device(), torch::kLong);
  auto h = mask_time(x.unsqueeze(1), len);  // B x 1 x T x F
  h = conv0_->forward(h);
  len = dw_striding_step(len);
  h = torch::relu(mask_time(h, len));
  h = conv2_->forward(h);
  len = dw_striding_step(len);
  h = torch::relu(conv3_->forward(mask_time(h, len)));
  h = conv5_->forward(mask_time(h, len));
  len = dw_striding_step(len);
  h = torch::relu(conv6_->forward(mask_time(h, len)));
  h = mask_time(h, len);  // B x C x T' x F'
  const int64_t B = h.size(0), T = h.size(2);
  auto flat = h.transpose(1, 2).reshape({B, T, -1});  // B x T' x (C * F'), channel-major
  // at::linear: one addmm with the bias (torch::nn::Linear::forward: matmul, then add_)
  return {at::linear(flat, out_->weight, out_->bias), len};
}

}  // namespace trellis
