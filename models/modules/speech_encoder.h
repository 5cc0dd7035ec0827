#pragma once
// The interface shared by speech encoders (FBK conformer, upstream conformer, ...), so that a
// model can hold any of them under the key prefix "encoder".

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "core/interfaces/model.h"

namespace trellis {

class SpeechEncoder : public torch::nn::Module {
 public:
  // src: (B, T, F*C) float, zero-padded; lengths: (B) int64 -> EncoderOut (time-major)
  virtual EncoderOut forward(const at::Tensor& src, const at::Tensor& lengths,
                             bool return_all_hiddens = false) = 0;
};

}  // namespace trellis
