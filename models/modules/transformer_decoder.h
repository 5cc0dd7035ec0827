#pragma once
// fairseq's TransformerDecoder as used by s2t models (docs/models.md; keys decoder.*).
//
//   x = embed_scale * embed_tokens(prev) + embed_positions(prev); dropout      (B, L, D)
//   per layer (pre-norm when normalize_before, else each LN after its residual add):
//     x = x + dropout(self_attn(LN(x), causal mask, target key padding))
//     x = x + dropout(encoder_attn(LN(x), encoder_out, encoder padding))
//     x = x + dropout(fc2(dropout_act(act(fc1(LN(x))))))
//   (the encoder_attn block is absent with no_encoder_attn: transformer_lm)
//   layer_norm (pre-norm only) -> output_projection (V, D), no bias (or embed_tokens.weight when
//   shared).  embed_scale = sqrt(D) unless no_scale_embedding.
// Incremental decoding feeds the whole prefix, computes only the last position and caches
// self-attention keys/values per layer (encoder keys/values once).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>

#include "core/interfaces/model.h"
#include "models/modules/fast_dropout.h"
#include "models/modules/multihead_attention.h"
#include "models/modules/positional_embedding.h"

namespace trellis {

struct TransformerDecoderConfig {
  int64_t vocab_size = 0;
  int64_t padding_idx = 1;
  int64_t embed_dim = 512;
  int64_t ffn_embed_dim = 2048;
  int64_t layers = 6;
  int64_t attention_heads = 8;
  double dropout = 0.1;
  double attention_dropout = 0.1;
  double activation_dropout = 0.1;
  std::string activation_fn = "relu";  // relu, gelu, swish
  bool normalize_before = true;
  bool learned_pos = false;
  bool no_scale_embedding = false;
  bool share_input_output_embed = false;
  int64_t max_target_positions = 1024;
  // fairseq's no_encoder_attn (language models): no encoder_attn / encoder_attn_layer_norm.
  bool no_encoder_attn = false;
};

class TransformerDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerDecoderLayerImpl(const TransformerDecoderConfig& c);
  // x: (L, B, D); enc: (T, B, D); enc_pad: (B, T) bool; self_pad: (B, L) bool or undefined;
  // causal: (L, L) float additive or undefined -> (L, B, D)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& enc, const at::Tensor& enc_pad,
                     const at::Tensor& self_pad, const at::Tensor& causal, IncrementalState* state,
                     const std::string& name);

 private:
  at::Tensor activation(const at::Tensor& x) const;
  TransformerDecoderConfig c_;
  MultiheadAttention self_attn_{nullptr}, encoder_attn_{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm_{nullptr}, encoder_attn_layer_norm_{nullptr},
      final_layer_norm_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  FastDropout dropout_{nullptr}, activation_dropout_{nullptr};
};
TORCH_MODULE(TransformerDecoderLayer);

class TransformerDecoderImpl : public torch::nn::Module {
 public:
  explicit TransformerDecoderImpl(const TransformerDecoderConfig& c);
  // prev: (B, L) int64; enc: (T, B, D) float; enc_pad: (B, T) bool, true = padding
  //   -> (B, L, V) logits, or (B, 1, V) for the last position with a state
  at::Tensor forward(const at::Tensor& prev, const at::Tensor& enc, const at::Tensor& enc_pad,
                     IncrementalState* state = nullptr);
  const TransformerDecoderConfig& config() const { return c_; }

 private:
  TransformerDecoderConfig c_;
  torch::nn::Embedding embed_tokens_{nullptr};
  PositionalEmbedding embed_positions_{nullptr};
  torch::nn::ModuleList layers_;
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Linear output_projection_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(TransformerDecoder);

}  // namespace trellis
