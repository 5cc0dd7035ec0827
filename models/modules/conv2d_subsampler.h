#pragma once
// fairseq's Conv2dSubsampler (--conv-version convtransformer; docs/models.md), the
// ESPnet/NeMo-style 2-D front end, 4x (2 layers) or 8x (3 layers):
//   x (B, T, C_in*F) -> (B, C_in, T, F) -> [Conv2d(c, C, 3, stride 2, padding 1) -> ReLU] x n
//   -> (B, T', C*F') -> out: Linear(C*F', D)  -> (T', B, D)
// Lengths: L <- floor((L - 1)/2) + 1 per layer (= ceil(L/2)). Keys conv.{0,2,4}.*, out.*.
// Padded frames are not masked (as upstream).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <utility>

#include "models/modules/conv1d_subsampler.h"

namespace trellis {

class Conv2dSubsamplerImpl : public Subsampler {
 public:
  Conv2dSubsamplerImpl(int64_t input_channels, int64_t input_feat_per_channel,
                       int64_t conv_out_channels, int64_t embed_dim, int64_t layers = 2);
  // x: (B, T, C_in*F) float; lengths: (B) int64 -> ((T', B, D) float, (B) int64)
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x,
                                            const at::Tensor& lengths) override;

 private:
  int64_t in_channels_, feat_, layers_;
  torch::nn::Sequential conv_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(Conv2dSubsampler);

}  // namespace trellis
