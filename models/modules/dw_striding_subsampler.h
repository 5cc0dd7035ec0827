#pragma once
// NeMo's `dw_striding` ConvSubsampling (factor 8), the front end of the Fast Conformer
// (docs/models.md, "Fast Conformer"). Keys (under encoder.pre_encode.):
//   conv.0  Conv2d(1, C, 3, stride 2, padding 1)            -> ReLU
//   conv.2  Conv2d(C, C, 3, stride 2, padding 1, groups C)  (depthwise)
//   conv.3  Conv2d(C, C, 1)                                 (pointwise) -> ReLU
//   conv.5, conv.6: the same depthwise/pointwise pair again -> ReLU
//   out     Linear(C * F', D), F' = F after three stride-2 steps (ceil(F/8))
// The input (B, T, F) is a 1-channel time x frequency image. Masked like current NeMo
// (MaskedConvSequential): before every conv and after the last ReLU, time steps >= the current
// length are zeroed; each strided conv updates the lengths L <- floor((L + 2 - 3) / 2 + 1).
// The output flattens channel-major: feature index = c * F' + f.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <utility>

namespace trellis {

// One stride-2, kernel-3, padding-1 step: lengths (any integer tensor) -> floor((L - 1) / 2) + 1
at::Tensor dw_striding_step(const at::Tensor& lengths);

class DwStridingSubsamplerImpl : public torch::nn::Module {
 public:
  // feat_in: F; channels: C; out_dim: D
  DwStridingSubsamplerImpl(int64_t feat_in, int64_t channels, int64_t out_dim);
  // x: (B, T, F) float; lengths: (B) int64 -> ((B, T', D) float, (B) int64 lengths)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& lengths);
  int64_t out_features() const { return out_freq_; }  // F'

 private:
  int64_t feat_in_, out_freq_;
  torch::nn::Conv2d conv0_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, conv5_{nullptr},
      conv6_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(DwStridingSubsampler);

}  // namespace trellis
