#pragma once
// NEST's input masking: NeMo's RandomBlockMasking (core/interfaces/masked_token_model.h).
// Blocks of frames (all feature bins) are replaced by a frozen embedding. Per utterance of valid length n, in
// batch order, drawing from the generator given to forward():
//   block_size >= max_mask_ratio * n: one block of 8 frames at 0 (no draw);
//   allow_overlap: count = n - block_size, num ~ Binomial(count, mask_prob) (at::binomial on
//     float32 scalars), starts = the first num entries of randperm(count); each block covers
//     [s, s + block_size);
//   no overlap: num = ceil(n * mask_prob / block_size) (float32), offset ~ randint(0,
//     block_size), b = block_size, or n // (num + 1) when (num + 1) * block_size > n;
//     starts = randperm(n // b - 1)[:num] * b + offset; each block covers [s, s + b).
// Block frames past T - 1 are clipped to T - 1 (NeMo's clamp; a block may reach into padding,
// as NeMo's does). The same calls in the same order as NeMo's, so a generator seeded as
// torch.manual_seed reproduces NeMo's masks exactly.
// Key: mask_embedding [F] float32, N(0, 0.1) from the default CPU generator, requires_grad
// false (saved, never trained).

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>

namespace trellis {

struct BlockMaskingOptions {
  int64_t feat_in = 80;
  double mask_prob = 0.01;
  int64_t block_size = 40;
  bool allow_overlap = true;
  double max_mask_ratio = 0.8;
};

struct BlockMaskingOutput {
  at::Tensor masked;      // (B, T, F): masked frames replaced by mask_embedding
  at::Tensor frame_mask;  // (B, T) float 0/1, 1 = masked frame
};

class BlockMaskingImpl : public torch::nn::Module {
 public:
  explicit BlockMaskingImpl(const BlockMaskingOptions& options);

  // feats: (B, T, F) float; lengths: (B) int64 valid frames; gen: a CPU generator.
  BlockMaskingOutput forward(const at::Tensor& feats, const at::Tensor& lengths,
                             at::Generator gen);
  // lengths (B) int64, T -> (B, T) bool frame mask drawn as above (what forward applies).
  at::Tensor draw_mask(const at::Tensor& lengths, int64_t T, at::Generator gen) const;

  const BlockMaskingOptions& options() const { return options_; }
  at::Tensor mask_embedding;  // (F) float32

 private:
  BlockMaskingOptions options_;
};
TORCH_MODULE(BlockMasking);

}  // namespace trellis
