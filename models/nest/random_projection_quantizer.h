#pragma once
// NEST's target tokenizer: NeMo's RandomProjectionVectorQuantizer
// (core/interfaces/masked_token_model.h).
// Frozen random projection of stacked frames onto a frozen random codebook:
//   feats (B, T, F) -> stack `combine_time_steps` consecutive frames time-major (B, T', F*c)
//   -> proj (no bias) -> (B, T', G, code_dim) -> L2-normalise each code_dim vector (float32)
//   -> token = argmin Euclidean distance to the unit rows of codebooks[g] (computed in float64:
//      the float32 projection is promoted against the float64 codebook, as NeMo does; found
//      with a matmul, and with NeMo's |x - code| formula for rows whose two best classes are
//      within 1e-9, so ties go to the lower index as in NeMo), or argmax dot product with
//      CodeDistance::kCosine (also in float64).
// Keys: proj.weight [G*code_dim, F*c] float32 (xavier_normal), codebooks [G, C, code_dim]
// float64 (N(0, 1), rows L2-normalised). Both are parameters with requires_grad false: they are
// saved in the state dict (NeMo's keys) but never trained (the trainer optimizes only
// parameters that require gradients).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

namespace trellis {

// How a projection picks its code: smallest Euclidean distance (NeMo's dist_fn l2, NEST's) or
// largest dot product (NeMo's cosine; the same choice for unit vectors up to ties).
enum class CodeDistance { kL2, kCosine };

struct RandomProjectionQuantizerOptions {
  int64_t feat_in = 80;             // F
  int64_t code_dim = 16;            // D_code
  int64_t num_classes = 8192;       // C
  int64_t num_books = 1;            // G
  int64_t combine_time_steps = 8;   // c
  CodeDistance distance = CodeDistance::kL2;
};

struct QuantizerOutput {
  at::Tensor tokens;  // (B, T', G) int64
  at::Tensor codes;   // (B, T', G, code_dim) float64: the selected codebook rows
};

class RandomProjectionQuantizerImpl : public torch::nn::Module {
 public:
  // Draws proj.weight and codebooks from the default CPU generator in NeMo's order (Linear's
  // own init, xavier_normal_, randn float32 -> double, normal_ in float64, normalise).
  explicit RandomProjectionQuantizerImpl(const RandomProjectionQuantizerOptions& options);

  // feats: (B, T, F) float, T % combine_time_steps == 0 -> tokens and codes (no gradient).
  QuantizerOutput forward(const at::Tensor& feats);

  const RandomProjectionQuantizerOptions& options() const { return options_; }
  torch::nn::Linear proj{nullptr};
  at::Tensor codebooks;  // (G, C, code_dim) float64

 private:
  RandomProjectionQuantizerOptions options_;
};
TORCH_MODULE(RandomProjectionQuantizer);

}  // namespace trellis
