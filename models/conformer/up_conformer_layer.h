#pragma once
// Upstream fairseq's ConformerEncoderLayer (fairseq/modules/conformer_layer.py; docs/models.md;
// keys conformer_layers.i.*). Time-major throughout.
//
//   x = x + 0.5 * ffn1(x)
//   x = x + dropout(self_attn(self_attn_layer_norm(x), pad[, pos_emb]))
//   x = x + conv_module(x)
//   x = x + 0.5 * ffn2(x)
//   y = final_layer_norm(x)
// FFN: layer_norm -> w_1 (D, ffn) -> swish -> dropout -> w_2 -> dropout.
// Conv: layer_norm -> pointwise_conv1 (D, 2D, 1, no bias) -> GLU -> depthwise_conv (K, groups D,
// no bias) -> batch_norm -> swish -> pointwise_conv2 (no bias) -> dropout. No padding mask in
// the conv module (padded frames leak into valid ones near the end, as upstream).
// self_attn: fairseq MultiheadAttention (attn_type "") or EspnetAttention (abs, rel_pos, rope).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>

#include "models/modules/espnet_attention.h"
#include "models/modules/fast_dropout.h"
#include "models/modules/multihead_attention.h"

namespace trellis {

struct UpConformerLayerConfig {
  int64_t embed_dim = 256;
  int64_t ffn_embed_dim = 2048;
  int64_t attention_heads = 4;
  int64_t depthwise_conv_kernel_size = 31;
  double dropout = 0.1;
  std::string attn_type = "";        // "" (fairseq MHA) or "espnet"
  std::string pos_enc_type = "abs";  // abs, rel_pos, rope (espnet only)
  bool conv_bias = false;            // torchaudio's ConformerLayer has conv biases
};

class UpFeedForwardImpl : public torch::nn::Module {
 public:
  UpFeedForwardImpl(int64_t dim, int64_t ffn, double dropout);
  // x: (..., D) float -> (..., D) float
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Linear w_1_{nullptr}, w_2_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(UpFeedForward);

class UpConvModuleImpl : public torch::nn::Module {
 public:
  UpConvModuleImpl(int64_t dim, int64_t kernel_size, double dropout, bool bias = false);
  // x: (T, B, D) float, contiguous -> (T, B, D) float
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Conv1d pointwise_conv1_{nullptr}, depthwise_conv_{nullptr}, pointwise_conv2_{nullptr};
  torch::nn::BatchNorm1d batch_norm_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(UpConvModule);

class UpConformerLayerImpl : public torch::nn::Module {
 public:
  explicit UpConformerLayerImpl(const UpConformerLayerConfig& c);
  // x: (T, B, D) float; pad: (B, T) bool, true = padding; pos_emb: (2T-1, D) float for rel_pos
  //   -> (T, B, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad, const at::Tensor& pos_emb = {});

 private:
  UpFeedForward ffn1_{nullptr}, ffn2_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr}, final_layer_norm_{nullptr};
  MultiheadAttention fairseq_attn_{nullptr};
  EspnetAttention espnet_attn_{nullptr};
  FastDropout self_attn_dropout_{nullptr};
  UpConvModule conv_module_{nullptr};
};
TORCH_MODULE(UpConformerLayer);

}  // namespace trellis
