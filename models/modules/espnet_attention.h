#pragma once
// ESPnet-style attention as used by upstream fairseq's conformer (--attn-type espnet;
// fairseq/modules/espnet_multihead_attention.py; docs/models.md, "Conformer family").
// Keys linear_q, linear_k, linear_v, linear_out (bias); rel_pos adds linear_pos (no bias),
// pos_bias_u, pos_bias_v [H, d]; rope adds the buffer rotary_emb.inv_freq [d/2].
//
//   abs:     score = q k^T / sqrt(d)
//   rel_pos: score = ((q + u) k^T + shift((q + v) p^T)) / sqrt(d), p = linear_pos(pos_emb),
//            pos_emb rows for relative positions T-1 .. -(T-1); shift: BD'[i, j] = BD[i, T-1-i+j]
//   rope:    the layer-normed input x (T, B, H, d) is rotated before linear_q/linear_k:
//            x*cos + rotate_half(x)*sin, angle[t] = t * inv_freq (cat twice), inv_freq =
//            10000^(-2i/d); values are not rotated.
// Key padding -> -inf, softmax, dropout, linear_out.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>

#include "models/modules/fast_dropout.h"

namespace trellis {

// -> (2T-1, D) float: ESPnet RelPositionalEncoding rows for relative positions T-1 .. -(T-1)
at::Tensor espnet_rel_positions(int64_t length, int64_t dim);

class EspnetAttentionImpl : public torch::nn::Module {
 public:
  // pos_enc: "abs", "rel_pos" or "rope"
  EspnetAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout, std::string pos_enc);
  // x: (T, B, D) float (layer-normed); pad: (B, T) bool, true = padding; pos_emb: (2T-1, D)
  // float for rel_pos (undefined otherwise) -> (T, B, D) float
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad, const at::Tensor& pos_emb = {});

 private:
  // x: (T, B, D) -> (B, H, T, d)
  at::Tensor heads(const at::Tensor& x) const;
  // x: (T, B, D) -> rotated (T, B, D)
  at::Tensor rotate(const at::Tensor& x) const;

  int64_t embed_dim_, heads_;
  std::string pos_enc_;
  torch::nn::Linear linear_q_{nullptr}, linear_k_{nullptr}, linear_v_{nullptr},
      linear_out_{nullptr}, linear_pos_{nullptr};
  at::Tensor pos_bias_u_, pos_bias_v_, inv_freq_;
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(EspnetAttention);

}  // namespace trellis
