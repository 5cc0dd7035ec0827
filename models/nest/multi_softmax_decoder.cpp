#include "models/nest/multi_softmax_decoder.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include "core/error.h"

namespace trellis {

MultiSoftmaxDecoderImpl::MultiSoftmaxDecoderImpl(const MultiSoftmaxDecoderOptions& options)
    : options_(options) {
  const auto& o = options_;
  TRELLIS_CHECK(o.feat_in > 0 && o.num_classes > 0 && o.num_books > 0, ConfigError,
                "multi-softmax decoder: feat_in {}, num_classes {}, num_books {} must be positive",
                o.feat_in, o.num_classes, o.num_books);
  torch::nn::Conv1d conv(
      torch::nn::Conv1dOptions(o.feat_in, o.num_classes * o.num_books, 1).bias(o.use_bias));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_uniform_(conv->weight);  // NeMo's init_weights(mode=xavier_uniform)
  }
  decoder_layers = register_module("decoder_layers", torch::nn::Sequential(conv));
  conv_ = conv;
}

at::Tensor MultiSoftmaxDecoderImpl::forward(const at::Tensor& x) {
  TRELLIS_CHECK(x.dim() == 3 && x.size(2) == options_.feat_in, DataError,
                "multi-softmax decoder: input must be (B, T', {}), got [{}]", options_.feat_in,
                fmt::join(x.sizes(), ", "));
  // A kernel-1 conv over time is a linear map of each frame.
  at::Tensor bias = options_.use_bias ? conv_->bias : at::Tensor();
  at::Tensor logits = at::linear(x, conv_->weight.squeeze(-1), bias);  // (B, T', C*G)
  logits = logits.view({x.size(0), x.size(1), options_.num_classes, options_.num_books});
  return at::log_softmax(logits, 2);
}

}  // namespace trellis
