#pragma once
// fairseq's MultiheadAttention (keys q_proj, k_proj, v_proj, out_proj; docs/models.md).
//
// q = q_proj(query) * d^-1/2, k = k_proj(key), v = v_proj(value), split into H heads of d = D/H;
// score = q k^T + attn_mask (additive, e.g. causal -inf above the diagonal);
// score[key padding] = -inf; attn = softmax(score) in the scores' dtype (bf16 under autocast:
// ATen accumulates it in float32); dropout; out_proj(attn v).
// Init: q/k/v weights xavier_uniform with gain 1/sqrt(2) (self-attention) or 1, out_proj xavier,
// out_proj bias 0.
// Incremental decoding: with a state and a cache name, self-attention appends this step's keys
// and values to "<name>.prev_key/prev_value" (B, H, t, d) and its key padding to
// "<name>.prev_key_padding_mask" (B, t); static_kv (encoder attention) computes them once.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>

#include "core/interfaces/model.h"
#include "models/modules/fast_dropout.h"

namespace trellis {

class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout, bool self_attention);
  // query: (Tq, B, D); key/value: (Tk, B, D) float; key_padding_mask: (B, Tk) bool, true =
  // padding, or undefined; attn_mask: (Tq, Tk) float additive or undefined -> (Tq, B, D)
  at::Tensor forward(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                     const at::Tensor& key_padding_mask, const at::Tensor& attn_mask,
                     IncrementalState* state = nullptr, const std::string& cache_name = "",
                     bool static_kv = false);

 private:
  // x: (T, B, D) -> (B, H, T, d)
  at::Tensor split_heads(const at::Tensor& x) const;

  int64_t embed_dim_, heads_;
  double scaling_;
  torch::nn::Linear k_proj_{nullptr}, v_proj_{nullptr}, q_proj_{nullptr}, out_proj_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(MultiheadAttention);

}  // namespace trellis
