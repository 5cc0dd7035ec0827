#pragma once
// fairseq's positional embeddings (docs/models.md).
//
// Sinusoidal: h = D/2, w_i = exp(-i ln(10000) / (h - 1)), row(p) = [sin(p w), cos(p w)] (halves,
// not interleaved); odd D gets a trailing zero column; row padding_idx is zero.
// Positions: non-pad items get padding_idx + 1, + 2, ... (cumulative count), pad items padding_idx.
// Learned (--decoder-learned-pos): Embedding(max_positions + padding_idx + 1, D, padding_idx),
// key `weight`.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace trellis {

// -> (num, D) float table
at::Tensor fairseq_sinusoidal_table(int64_t num, int64_t dim, int64_t padding_idx);

// tokens: (B, L) int64 -> (B, L) int64 positions (pad -> padding_idx, first real -> pad + 1)
at::Tensor make_positions(const at::Tensor& tokens, int64_t padding_idx);

class PositionalEmbeddingImpl : public torch::nn::Module {
 public:
  PositionalEmbeddingImpl(int64_t max_positions, int64_t dim, int64_t padding_idx, bool learned);
  // tokens: (B, L) int64 -> (B, L, D) float. last_only: positions of the last step only (B, 1, D)
  at::Tensor forward(const at::Tensor& tokens, bool last_only = false);

 private:
  int64_t dim_, padding_idx_;
  bool learned_;
  at::Tensor weight_;  // learned: (max + pad + 1, D) parameter
  at::Tensor table_;   // sinusoidal cache (not a buffer)
};
TORCH_MODULE(PositionalEmbedding);

}  // namespace trellis
