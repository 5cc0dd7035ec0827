#pragma once
// FBK-fairseq's ConformerEncoderLayer (docs/models.md; keys conformer_layers.i.*).
//
//   x = x + r * first_feed_forward(x)          r = 0.5 (half-step residual) or 1
//   x = x + attention(x, pad)                   FbkSelfAttentionModule (relative positions)
//   x = x + conv_module(x, pad)
//   x = x + r * second_feed_forward(x)
//   y = layernorm(x)
// FeedForward: layernorm -> first_linear (D, e*D) -> SiLU -> dropout -> second_linear -> dropout
// (xavier_uniform weights, zero biases).
// ConvModule: layernorm -> first_pointwise_conv1d (D, 2D, 1) -> GLU -> zero pads ->
//   depthwise_conv1d (K, groups D, pad (K-1)/2, no bias) -> zero pads -> batchnorm -> zero pads
//   -> SiLU -> second_pointwise_conv1d (D, D, 1) -> zero pads -> dropout.
// BatchNorm statistics in training include the zeroed padded steps (as in FBK).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/modules/fast_dropout.h"
#include "models/modules/fbk_relative_attention.h"

namespace trellis {

struct FbkConformerLayerConfig {
  int64_t embed_dim = 512;
  int64_t attention_heads = 8;
  int64_t ff_expansion = 4;
  int64_t conv_kernel_size = 31;
  double ff_dropout = 0.1;
  double attention_dropout = 0.1;
  double conv_dropout = 0.1;
  bool half_step_residual = true;
  bool batch_unsafe_relative_shift = false;
};

class FbkFeedForwardImpl : public torch::nn::Module {
 public:
  FbkFeedForwardImpl(int64_t dim, int64_t expansion, double dropout);
  // x: (B, T, D) float -> (B, T, D) float
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::LayerNorm layernorm_{nullptr};
  torch::nn::Linear first_linear_{nullptr}, second_linear_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FbkFeedForward);

class FbkConvModuleImpl : public torch::nn::Module {
 public:
  FbkConvModuleImpl(int64_t dim, int64_t kernel_size, double dropout);
  // x: (B, T, D) float; pad: (B, T) bool, true = padding -> (B, T, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad);

 private:
  torch::nn::LayerNorm layernorm_{nullptr};
  torch::nn::Conv1d first_pointwise_conv1d_{nullptr}, depthwise_conv1d_{nullptr},
      second_pointwise_conv1d_{nullptr};
  torch::nn::BatchNorm1d batchnorm_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FbkConvModule);

class FbkConformerLayerImpl : public torch::nn::Module {
 public:
  explicit FbkConformerLayerImpl(const FbkConformerLayerConfig& cfg);
  // x: (T, B, D) float; pad: (B, T) bool, true = padding -> (T, B, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad);

 private:
  double residual_factor_;
  FbkFeedForward first_feed_forward_{nullptr}, second_feed_forward_{nullptr};
  FbkSelfAttentionModule attention_{nullptr};
  FbkConvModule conv_module_{nullptr};
  torch::nn::LayerNorm layernorm_{nullptr};
};
TORCH_MODULE(FbkConformerLayer);

}  // namespace trellis
