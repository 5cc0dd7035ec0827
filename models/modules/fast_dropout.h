#pragma once
// Dropout with a faster mask (drop-in for torch::nn::Dropout, no parameters):
//   train: y = x * m / (1 - p), m = [u >= p * 2^32], u a 32-bit hash of (seed, element index)
//   eval or p = 0: y = x
// LibTorch 1.13's CPU bernoulli_ and uniform_ draw element by element from one locked
// mt19937 (dropout was ~15% of a conformer update). Here each call takes one 64-bit seed from
// the default generator; the mask is a counter-based hash of (seed, element index), computed
// where it is used (models/modules/dropout_kernels.h): the forward writes x * m / (1 - p) in
// one vectorised pass and the backward recomputes m from the seed (no mask is stored or read).
// The same distribution, another stream, and as reproducible as before (saving and restoring
// the generator's state restores the masks, which activation checkpointing and exact resume
// rely on).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>

namespace trellis {

// (like's shape) in like's dtype: 0 with probability p, else 1 / (1 - p); 0 <= p < 1.
// Draws the seed from the default generator as one dropout() call does, so that
// x * dropout_mask(x, p) equals dropout(x, p) from the same generator state.
at::Tensor dropout_mask(const at::Tensor& like, double p);

// Training-mode dropout with autograd (gradient = the same mask); x: any float tensor.
at::Tensor dropout(const at::Tensor& x, double p);

// dropout(silu(x), p) in one pass each way (the conformer feed-forward's activation): the
// SiLU is computed in float with a vectorised exp (within ~2 ulp of at::silu), and its
// backward from the saved x. Draws its seed as dropout() does.
at::Tensor silu_dropout(const at::Tensor& x, double p);

class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p = 0.5) : p_(p) {}
  // x: any float -> same shape and dtype
  at::Tensor forward(const at::Tensor& x);
  // x: any float -> forward(silu(x)), fused in training (silu_dropout)
  at::Tensor silu_forward(const at::Tensor& x);

 private:
  double p_;
};
TORCH_MODULE(FastDropout);

}  // namespace trellis
