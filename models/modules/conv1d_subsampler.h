#pragma once
// fairseq's Conv1dSubsampler (docs/models.md): n strided Conv1d + GLU layers.
//
// For kernel k_i (i = 0..n-1): conv_layers.i = Conv1d(in_i, out_i, k_i, stride 2, padding k_i/2),
// then GLU over channels (a * sigmoid(b) on the two halves).
// in_0 = in_channels, in_i = mid_channels/2, out_i = mid_channels (i < n-1), out_{n-1} = 2*D.
// Lengths: L <- floor((L - k + 2*(k/2)) / 2 + 1) per layer (FBK's general form; UP's
// floor((L-1)/2 + 1) is the same for odd k).
// mask_padding (FBK "bug 2" fix): padded steps are zeroed after every conv + GLU; upstream
// fairseq does not mask, so padding leaks into the last valid frames.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <utility>
#include <vector>

namespace trellis {

// What an encoder's front end does (keys "subsample.*").
class Subsampler : public torch::nn::Module {
 public:
  // x: (B, T, C_in) float, zero-padded; lengths: (B) int64
  //   -> ((T', B, D) float time-major, (B) int64 new lengths)
  virtual std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x,
                                                    const at::Tensor& lengths) = 0;
};

class Conv1dSubsamplerImpl : public Subsampler {
 public:
  Conv1dSubsamplerImpl(int64_t in_channels, int64_t mid_channels, int64_t out_channels,
                       std::vector<int64_t> kernel_sizes, bool mask_padding = true);

  // x: (B, T, C_in) float, zero-padded; lengths: (B) int64
  //   -> ((T', B, D) float time-major, (B) int64 new lengths)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x,
                                            const at::Tensor& lengths) override;
  // lengths: (B) int64 -> (B) int64 after all layers
  at::Tensor output_lengths(const at::Tensor& lengths) const;

 private:
  std::vector<int64_t> kernel_sizes_;
  bool mask_padding_;
  torch::nn::ModuleList conv_layers_;
};
TORCH_MODULE(Conv1dSubsampler);

}  // namespace trellis
