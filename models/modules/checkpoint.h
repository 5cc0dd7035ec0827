#pragma once
// Activation checkpointing (--checkpoint-activations), like torch.utils.checkpoint (reentrant):
// the forward runs without keeping intermediate activations; the backward re-runs `fn` with the
// CPU random state of the forward (same dropout masks) and back-propagates through it, so
// parameter gradients are accumulated into .grad directly. Buffers updated in the forward
// (BatchNorm running statistics) are updated again by the recomputation, as in PyTorch.

#include <ATen/core/Tensor.h>

#include <functional>

namespace trellis {

// x: any float tensor requiring grad or not -> fn(x), recomputed in the backward
at::Tensor checkpoint(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x);

}  // namespace trellis
