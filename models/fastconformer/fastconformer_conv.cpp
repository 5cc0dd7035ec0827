#include "models/fastconformer/fastconformer_conv.h"

#include <torch/torch.h>

#include "core/error.h"
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

// x: (B, T, D); pad: (B, T) -> (B, T, D)
at::Tensor FastConformerConvImpl::forward(const at::Tensor& x, const at::Tensor& pad) {
  auto h = pointwise_conv1_(x.transpose(1, 2));   // B x 2D x T
  h = torch::glu(h, 1);                           // B x D x T
  h = h.masked_fill(pad.unsqueeze(1), 0.0);
  h = depthwise_conv_(h);
  if (batch_norm_) {
    h = batch_norm_(h);
  } else {
    h = layer_norm(layer_norm_, h.transpose(1, 2)).transpose(1, 2);  // f32 under bf16 autocast
  }
  h = torch::silu(h);
  return pointwise_conv2_(h).transpose(1, 2);  // B x T x D
}

}  // namespace trellis
