#pragma once
// NEST's prediction head: NeMo's MultiSoftmaxDecoder (core/interfaces/masked_token_model.h).
//   x (B, T', D) -> 1x1 Conv1d(D, C*G, bias) -> (B, T', C*G) -> (B, T', C, G) (channel c*G + g)
//   -> log_softmax over C.
// Key: decoder_layers.0.{weight [C*G, D, 1] (xavier_uniform), bias [C*G] (Conv1d's default)}.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <cstdint>

namespace trellis {

struct MultiSoftmaxDecoderOptions {
  int64_t feat_in = 512;       // D
  int64_t num_classes = 8192;  // C
  int64_t num_books = 1;       // G
  bool use_bias = true;
};

class MultiSoftmaxDecoderImpl : public torch::nn::Module {
 public:
  explicit MultiSoftmaxDecoderImpl(const MultiSoftmaxDecoderOptions& options);

  // x: (B, T', D) float -> log-probabilities (B, T', C, G) in x's dtype
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Sequential decoder_layers{nullptr};

 private:
  MultiSoftmaxDecoderOptions options_;
  torch::nn::Conv1d conv_{nullptr};  // decoder_layers[0]: weight (C*G, D, 1), bias (C*G)
};
TORCH_MODULE(MultiSoftmaxDecoder);

}  // namespace trellis
