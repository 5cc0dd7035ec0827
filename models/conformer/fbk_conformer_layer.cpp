#include "models/conformer/fbk_conformer_layer.h"

#include <torch/torch.h>

#include "models/modules/norm.h"
#include "models/modules/padding.h"
#include "models/modules/linear.h"
#include "models/modules/depthwise_conv_tbc.h"

namespace trellis {

namespace nn = torch::nn;

FbkFeedForwardImpl::FbkFeedForwardImpl(int64_t dim, int64_t expansion, double dropout) {
  layernorm_ = register_module("layernorm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  first_linear_ = register_module("first_linear", nn::Linear(dim, dim * expansion));
  second_linear_ = register_module("second_linear", nn::Linear(dim * expansion, dim));
  dropout_ = register_module("dropout", FastDropout(dropout));
  torch::NoGradGuard ng;
  for (auto* l : {&first_linear_, &second_linear_}) {
    nn::init::xavier_uniform_((*l)->weight);
    nn::init::zeros_((*l)->bias);
  }
}

// x: (B, T, D) -> (B, T, D)
at::Tensor FbkFeedForwardImpl::forward(const at::Tensor& x) {
  auto h = dropout_->silu_forward(linear(first_linear_, layer_norm(layernorm_, x)));
  return dropout_(linear(second_linear_, h));
}

FbkConvModuleImpl::FbkConvModuleImpl(int64_t dim, int64_t kernel_size, double dropout) {
  TORCH_CHECK(kernel_size % 2 == 1, "conformer conv kernel size must be odd");
  layernorm_ = register_module("layernorm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  first_pointwise_conv1d_ = register_module(
      "first_pointwise_conv1d", nn::Conv1d(nn::Conv1dOptions(dim, 2 * dim, 1).bias(true)));
  second_pointwise_conv1d_ = register_module("second_pointwise_conv1d",
                                             nn::Conv1d(nn::Conv1dOptions(dim, dim, 1).bias(true)));
  depthwise_conv1d_ =
      register_module("depthwise_conv1d", nn::Conv1d(nn::Conv1dOptions(dim, dim, kernel_size)
                                                         .groups(dim)
                                                         .padding((kernel_size - 1) / 2)
                                                         .bias(false)));
  batchnorm_ = register_module("batchnorm", nn::BatchNorm1d(nn::BatchNormOptions(dim)));
  dropout_ = register_module("dropout", FastDropout(dropout));
}

// x: (B, T, D); pad: (B, T) bool -> (B, T, D)
at::Tensor FbkConvModuleImpl::forward(const at::Tensor& x, const at::Tensor& pad) {
  // the 1x1 convolutions are matmuls on the (B, T, C) layout (same [out, in, 1] weights)
  auto h = torch::linear(layer_norm(layernorm_, x), first_pointwise_conv1d_->weight.squeeze(-1),
                         first_pointwise_conv1d_->bias);       // B x T x 2D
  // the depthwise convolution reads B x T x D in place as T x B x D (depthwise_conv_tbc.h);
  // batch norm sees the B*T rows, whose statistics per channel are those of B x D x T
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  h = zero_padded(torch::glu(h, -1), pad, 1);  // B x T x D
  h = depthwise_conv1d_tbc(h.transpose(0, 1), depthwise_conv1d_->weight, at::Tensor());
  h = zero_padded(h.transpose(0, 1), pad, 1);  // B x T x D
  h = batchnorm_(h.reshape({B * T, D})).view({B, T, D});
  h = torch::silu(zero_padded(h, pad, 1));  // silu(0) = 0
  h = torch::linear(h, second_pointwise_conv1d_->weight.squeeze(-1),
                    second_pointwise_conv1d_->bias);  // B x T x D
  return dropout_(zero_padded(h, pad, 1));
}

FbkConformerLayerImpl::FbkConformerLayerImpl(const FbkConformerLayerConfig& c)
    : residual_factor_(c.half_step_residual ? 0.5 : 1.0) {
  first_feed_forward_ = register_module("first_feed_forward",
                                        FbkFeedForward(c.embed_dim, c.ff_expansion, c.ff_dropout));
  attention_ = register_module(
      "attention", FbkSelfAttentionModule(c.embed_dim, c.attention_heads, c.attention_dropout,
                                          c.batch_unsafe_relative_shift));
  conv_module_ = register_module("conv_module",
                                 FbkConvModule(c.embed_dim, c.conv_kernel_size, c.conv_dropout));
  second_feed_forward_ = register_module("second_feed_forward",
                                         FbkFeedForward(c.embed_dim, c.ff_expansion, c.ff_dropout));
  layernorm_ = register_module("layernorm", nn::LayerNorm(nn::LayerNormOptions({c.embed_dim})));
}

// x: (T, B, D); pad: (B, T) bool -> (T, B, D)
at::Tensor FbkConformerLayerImpl::forward(const at::Tensor& x_tbd, const at::Tensor& pad) {
  auto x = x_tbd.transpose(0, 1);  // B x T x D
  x = first_feed_forward_(x) * residual_factor_ + x;
  x = attention_(x, pad) + x;
  x = conv_module_(x, pad) + x;
  x = second_feed_forward_(x) * residual_factor_ + x;
  return layer_norm(layernorm_, x).transpose(0, 1);
}

}  // namespace trellis
