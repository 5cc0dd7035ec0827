#pragma once
// NeMo's RelPositionMultiHeadAttention as the Fast Conformer uses it (docs/models.md,
// "Fast Conformer"). Keys linear_q, linear_k, linear_v, linear_out (bias = use_bias),
// linear_pos (no bias), pos_bias_u, pos_bias_v [H, d] (per layer, zeros at init).
//
//   AC = (q + u) k^T; BD = rel_shift((q + v) p^T), p = linear_pos(pos_emb),
//   pos_emb rows for relative positions T-1 .. -(T-1), BD'[i, j] = BD[i, T-1-i+j];
//   scores = (AC + BD') / sqrt(d); entries whose query or key is padding -> -10000;
//   softmax; those entries -> 0 (padded query rows attend to nothing); dropout; linear_out.
// Same math as EspnetAttention (models/modules/espnet_attention.h) on valid frames; that module
// has no use_bias switch, inits the biases xavier-uniform and masks keys only with -inf, so
// padded query rows differ (they matter to BatchNorm statistics in training).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "models/modules/fast_dropout.h"

namespace trellis {

class FastConformerAttentionImpl : public torch::nn::Module {
 public:
  FastConformerAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout_att,
                             bool use_bias);
  // x: (B, T, D) float (layer-normed); pad: (B, T) bool, true = padding;
  // pos_emb: (2T-1, D) float -> (B, T, D)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad, const at::Tensor& pos_emb);

 private:
  // x: (B, T, D) -> (B, H, T, d)
  at::Tensor heads(const at::Tensor& x) const;

  int64_t embed_dim_, heads_;
  torch::nn::Linear linear_q_{nullptr}, linear_k_{nullptr}, linear_v_{nullptr},
      linear_out_{nullptr}, linear_pos_{nullptr};
  at::Tensor pos_bias_u_, pos_bias_v_;
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(FastConformerAttention);

}  // namespace trellis
