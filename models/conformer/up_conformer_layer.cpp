#include "models/conformer/up_conformer_layer.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/modules/norm.h"
#include "models/modules/linear.h"
#include "models/modules/depthwise_conv_tbc.h"

namespace trellis {

namespace nn = torch::nn;

UpFeedForwardImpl::UpFeedForwardImpl(int64_t dim, int64_t ffn, double dropout) {
  layer_norm_ = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  w_1_ = register_module("w_1", nn::Linear(dim, ffn));
  w_2_ = register_module("w_2", nn::Linear(ffn, dim));
  dropout_ = register_module("dropout", FastDropout(dropout));
}

// x: (..., D) -> (..., D)
at::Tensor UpFeedForwardImpl::forward(const at::Tensor& x) {
  return dropout_(linear(w_2_, dropout_->silu_forward(linear(w_1_, layer_norm(layer_norm_, x)))));
}

UpConvModuleImpl::UpConvModuleImpl(int64_t dim, int64_t kernel_size, double dropout, bool bias) {
  TRELLIS_CHECK(kernel_size % 2 == 1, ConfigError, "depthwise conv kernel size must be odd");
  layer_norm_ = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  pointwise_conv1_ =
      register_module("pointwise_conv1", nn::Conv1d(nn::Conv1dOptions(dim, 2 * dim, 1).bias(bias)));
  depthwise_conv_ =
      register_module("depthwise_conv", nn::Conv1d(nn::Conv1dOptions(dim, dim, kernel_size)
                                                       .groups(dim)
                                                       .padding((kernel_size - 1) / 2)
                                                       .bias(bias)));
  batch_norm_ = register_module("batch_norm", nn::BatchNorm1d(nn::BatchNormOptions(dim)));
  pointwise_conv2_ =
      register_module("pointwise_conv2", nn::Conv1d(nn::Conv1dOptions(dim, dim, 1).bias(bias)));
  dropout_ = register_module("dropout", FastDropout(dropout));
}

// x: (T, B, D) contiguous -> (T, B, D). Time-major throughout: the 1x1 convolutions are
// matmuls (same [out, in, 1] weights), the depthwise one runs on (T, B, D)
// (depthwise_conv_tbc.h), and batch norm sees the (T*B, D) rows, whose statistics per channel
// are those of the (B, D, T) layout.
at::Tensor UpConvModuleImpl::forward(const at::Tensor& x) {
  const int64_t T = x.size(0), B = x.size(1), D = x.size(2);
  auto h = torch::glu(torch::linear(layer_norm(layer_norm_, x),
                                    pointwise_conv1_->weight.squeeze(-1), pointwise_conv1_->bias),
                      -1);                                                      // (T, B, D)
  h = depthwise_conv1d_tbc(h, depthwise_conv_->weight, depthwise_conv_->bias);  // (T, B, D)
  h = torch::silu(batch_norm_(h.reshape({T * B, D})).view({T, B, D}));
  return dropout_(torch::linear(h, pointwise_conv2_->weight.squeeze(-1), pointwise_conv2_->bias));
}

UpConformerLayerImpl::UpConformerLayerImpl(const UpConformerLayerConfig& c) {
  const int64_t D = c.embed_dim;
  ffn1_ = register_module("ffn1", UpFeedForward(D, c.ffn_embed_dim, c.dropout));
  self_attn_layer_norm_ =
      register_module("self_attn_layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
  if (c.attn_type == "espnet") {
    espnet_attn_ = register_module(
        "self_attn", EspnetAttention(D, c.attention_heads, c.dropout, c.pos_enc_type));
  } else {
    TRELLIS_CHECK(c.attn_type.empty() || c.attn_type == "none", ConfigError,
                  "unknown --attn-type {}", c.attn_type);
    fairseq_attn_ =
        register_module("self_attn", MultiheadAttention(D, c.attention_heads, c.dropout, true));
  }
  self_attn_dropout_ = register_module("self_attn_dropout", FastDropout(c.dropout));
  conv_module_ = register_module(
      "conv_module", UpConvModule(D, c.depthwise_conv_kernel_size, c.dropout, c.conv_bias));
  ffn2_ = register_module("ffn2", UpFeedForward(D, c.ffn_embed_dim, c.dropout));
  final_layer_norm_ = register_module("final_layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
}

// x: (T, B, D); pad: (B, T) bool; pos_emb: (2T-1, D) -> (T, B, D)
at::Tensor UpConformerLayerImpl::forward(const at::Tensor& x_in, const at::Tensor& pad,
                                         const at::Tensor& pos_emb) {
  auto x = at::add(x_in, ffn1_(x_in), 0.5);  // x + 0.5 f(x) in one pass (0.5 is exact)
  auto h = layer_norm(self_attn_layer_norm_, x);
  h = espnet_attn_ ? espnet_attn_(h, pad, pos_emb) : fairseq_attn_(h, h, h, pad, at::Tensor());
  x = x + self_attn_dropout_(h);
  x = x + conv_module_(x);
  x = at::add(x, ffn2_(x), 0.5);
  return layer_norm(final_layer_norm_, x);
}

}  // namespace trellis
