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
  // A kernel-1 conv over time is a linear map of each frame. The conv's output channel c*G + g
  // is class c of book g (NeMo reshapes to (B, T', C, G) and takes log_softmax over dim 2).
  // The log-softmax runs over the last axis (ATen's fast kernel; over dim 2 of the (B, T', C, G)
  // tensor it takes a strided one, about 2.5x slower): the weight's rows are reordered book-major
  // (g*C + c; a view when G = 1), the logits come out as (B, T', G, C), and the result is returned
  // as the transposed view (B, T', C, G) the interface promises; same values.
  const int64_t C = options_.num_classes, G = options_.num_books;
  at::Tensor w = conv_->weight.squeeze(-1);  // (C*G, D)
  w = w.view({C, G, w.size(1)}).transpose(0, 1).reshape({G * C, w.size(1)});
  at::Tensor bias;
  if (options_.use_bias) bias = conv_->bias.view({C, G}).t().reshape({G * C});
  at::Tensor logits = at::linear(x, w, bias).view({x.size(0), x.size(1), G, C});  // (B, T', G, C)
  return at::log_softmax(logits, -1).transpose(2, 3);  // (B, T', C, G)
}

}  // namespace trellis
