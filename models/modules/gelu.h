#pragma once
// GELU (erf form, as torch.nn.functional.gelu) whose backward always sees a contiguous
// gradient. LibTorch 1.13's CPU GeluBackward returns wrong values (zeros) when the incoming
// gradient is a transposed view, which is what a LayerNorm over channels after a Conv1d sends
// back (wav2vec2's feature extractor); tests/models/test_gelu.cpp shows it.

#include <ATen/core/Tensor.h>

namespace trellis {

// x: any float -> same shape
at::Tensor gelu(const at::Tensor& x);

}  // namespace trellis
