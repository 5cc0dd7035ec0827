#include "models/fastconformer/fastconformer_conv.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/modules/depthwise_conv_tbc.h"
#include "models/modules/norm.h"

namespace trellis {

namespace nn = torch::nn;

FastConformerConvImpl::FastConformerConvImpl(int64_t dim, int64_t kernel, bool use_bias,
                                             const std::string& norm_type, bool sync_bn) {
  TRELLIS_CHECK(kernel % 2 == 1, ConfigError, "conv module: kernel {} must be odd", kernel);
  pointwise_conv1_ = register_module(
      "pointwise_conv1", nn::Conv1d(nn::Conv1dOptions(dim, 2 * dim, 1).bias(use_bias)));
  depthwise_conv_ = register_module(
      "depthwise_conv",
      nn::Conv1d(
          nn::Conv1dOptions(dim, dim, kernel).padding((kernel - 1) / 2).groups(dim).bias(use_bias)));
  if (norm_type == "batch_norm") {
    batch_norm_ = register_module("batch_norm", SyncBatchNorm1d(dim, sync_bn));
  } else {
    TRELLIS_CHECK(norm_type == "layer_norm", ConfigError,
                  "--conv-norm-type {}: batch_norm or layer_norm", norm_type);
    layer_norm_ = register_module("batch_norm", nn::LayerNorm(nn::LayerNormOptions({dim})));
  }
  pointwise_conv2_ = register_module(
      "pointwise_conv2", nn::Conv1d(nn::Conv1dOptions(dim, dim, 1).bias(use_bias)));
}

// x: (B, T, D); pad: (B, T) -> (B, T, D). Channels last throughout: the 1x1 convolutions are
// matmuls on (B, T, C) (same [out, in, 1] weights), the depthwise one reads (B, T, D) in place
// as (T, B, D) (depthwise_conv_tbc.h), and batch norm sees the B*T rows, whose statistics per
// channel are those of (B, D, T).
at::Tensor FastConformerConvImpl::forward(const at::Tensor& x, const at::Tensor& pad) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  auto h = torch::linear(x, pointwise_conv1_->weight.squeeze(-1), pointwise_conv1_->bias);
  h = torch::glu(h, -1).masked_fill(pad.unsqueeze(2), 0.0);  // B x T x D
  h = depthwise_conv1d_tbc(h.transpose(0, 1), depthwise_conv_->weight, depthwise_conv_->bias)
          .transpose(0, 1);  // B x T x D
  if (batch_norm_) {
    h = batch_norm_(h.reshape({B * T, D})).view({B, T, D});
  } else {
    h = layer_norm(layer_norm_, h);  // f32 under bf16 autocast
  }
  h = torch::silu(h);
  return torch::linear(h, pointwise_conv2_->weight.squeeze(-1), pointwise_conv2_->bias);
}

}  // namespace trellis
