#pragma once
// The Adam update of one float32 parameter in a single pass over (p, g, m, v): fairseq's Adam
// and torch's AdamW (optim/adam.h), with the gradient multiplied by a scale on the fly (the
// trainer's 1/sample_size and clipping coefficient, so no pass over the gradients is needed for
// them). Vectorised for AVX-512 and AVX2 (picked at run time), parallel over at::parallel_for;
// every element's arithmetic is the same whatever the thread count.

#include <cstdint>
#include <vector>

namespace trellis {

struct AdamKernelArgs {
  // the coefficients as torch's ops see them: each rounded once from double
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float one_minus_beta1 = 0.1f, one_minus_beta2 = 0.001f;
  float grad_scale = 1.0f;  // g = grad * grad_scale
  // fairseq (torch_adamw false):  p -= wd_lr * p;  p -= step_size * m / (sqrt(v) + eps)
  // torch AdamW (torch_adamw true): p *= 1 - wd_lr; p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
  bool torch_adamw = false;
  float wd_lr = 0.0f;      // weight decay * lr
  float one_minus_wd_lr = 1.0f;
  float step_size = 0.0f;  // fairseq: lr * sqrt(1 - b2^t) / (1 - b1^t); AdamW: lr / (1 - b1^t)
  float bc2_sqrt = 1.0f;   // AdamW: sqrt(1 - b2^t)
};

// One parameter's contiguous float32 buffers, all of n elements.
struct AdamKernelTensor {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t n;
  AdamKernelArgs args;
};

// Updates every tensor in place: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; then p as above.
void adam_update(const std::vector<AdamKernelTensor>& tensors);

}  // namespace trellis
