#pragma once
// NeMo's ConformerConvolution (Fast Conformer conv module, docs/models.md "Fast Conformer").
// Keys: pointwise_conv1 Conv1d(D, 2D, 1), depthwise_conv Conv1d(D, D, K, groups D, padding
// (K-1)/2), batch_norm (BatchNorm1d(D), synchronised over the processes of a run unless
// sync_bn is false (models/modules/sync_batch_norm.h), or LayerNorm(D) for conv_norm_type
// layer_norm, under the same key), pointwise_conv2 Conv1d(D, D, 1); conv biases = use_bias.
//   x -> pointwise_conv1 -> GLU -> padded frames set to 0 -> depthwise_conv -> norm -> Swish
//     -> pointwise_conv2
// No dropout inside, no masking after the depthwise conv.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <string>

#include "models/modules/sync_batch_norm.h"

namespace trellis {

class FastConformerConvImpl : public torch::nn::Module {
 public:
  FastConformerConvImpl(int64_t dim, int64_t kernel, bool use_bias, const std::string& norm_type,
                        bool sync_bn = true);
  // x: (B, T, D) float (layer-normed); pad: (B, T) bool, true = padding -> (B, T, D)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& pad);

 private:
  torch::nn::Conv1d pointwise_conv1_{nullptr}, depthwise_conv_{nullptr},
      pointwise_conv2_{nullptr};
  SyncBatchNorm1d batch_norm_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
};
TORCH_MODULE(FastConformerConv);

}  // namespace trellis
