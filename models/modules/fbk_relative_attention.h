#pragma once
// FBK-fairseq's relative-position self-attention (conformer_attention.py; docs/models.md).
//
// pe[p, 2i] = sin(p / 10000^(2i/D)), pe[p, 2i+1] = cos(...), p = 0..T-1 (not reversed).
// q, k, v = query/key/value_proj(x), split into H heads of d = D/H; p = pos_proj(pe[:T]).
//   content = (q + u_bias) k^T,  pos = (q + v_bias) p^T            (B, H, T, T)
//   pos' = legacy Transformer-XL shift of pos: pad one zero column, view (T+1, T), drop row 0.
//     batch-safe (default): done per utterance on its own L_b x L_b block, rest 0;
//     batch_unsafe_shift: done once on the padded T x T matrix (depends on padding).
//   score = (content + pos') / sqrt(D)        -- sqrt of the model dim, FBK's choice
//   score[mask] = -1e4; attn = softmax(score); attn[mask] = 0; dropout; out_proj(attn v)
// mask = key padding OR query padding, so padded query rows output out_proj.bias.
// The table pe is generated on demand (FBK checkpoints carry it as a buffer; ignore it).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/modules/fast_dropout.h"

namespace trellis {

// (T, D) float: FBK/ESPnet interleaved sinusoid for positions 0..T-1
at::Tensor fbk_sinusoid_table(int64_t length, int64_t dim);

class RelativeMultiHeadAttentionImpl : public torch::nn::Module {
 public:
  RelativeMultiHeadAttentionImpl(int64_t d_model, int64_t num_heads, double dropout,
                                 bool batch_unsafe_shift);
  // x: (B, T, D) float (layer-normed); pos: (T, D) float table; pad: (B, T) bool, true = padding
  //   -> (B, T, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pos, const at::Tensor& pad);

 private:
  // pos: (B, H, T, T) float; lengths: per utterance -> shifted (B, H, T, T), padding 0
  at::Tensor relative_shift(const at::Tensor& pos, const at::Tensor& pad) const;

  int64_t d_model_, heads_;
  bool batch_unsafe_shift_;
  torch::nn::Linear query_proj_{nullptr}, key_proj_{nullptr}, value_proj_{nullptr},
      pos_proj_{nullptr}, out_proj_{nullptr};
  at::Tensor u_bias_, v_bias_;
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(RelativeMultiHeadAttention);

// FBK MultiHeadedSelfAttentionModule: layer_norm -> attention -> dropout (keys attention.*).
class FbkSelfAttentionModuleImpl : public torch::nn::Module {
 public:
  FbkSelfAttentionModuleImpl(int64_t d_model, int64_t num_heads, double dropout,
                             bool batch_unsafe_shift);
  // x: (B, T, D) float; pad: (B, T) bool, true = padding -> (B, T, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad);

 private:
  int64_t d_model_;
  at::Tensor table_;  // cached sinusoid (T_max, D), grown on demand
  torch::nn::LayerNorm layer_norm_{nullptr};
  RelativeMultiHeadAttention attention_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FbkSelfAttentionModule);

}  // namespace trellis
