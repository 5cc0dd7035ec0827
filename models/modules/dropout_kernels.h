#pragma once
// The elementwise kernels behind FastDropout (models/modules/fast_dropout.h): a counter-based
// dropout mask computed where it is used, alone or fused with the SiLU before it. Each keeps
// element i when mix(seed, i) >= p * 2^32 and scales kept values by 1 / (1 - p); the mask is
// never stored, backward recomputes it from the seed. Float32 and bfloat16 inputs (computed in
// float, rounded once), any other float dtype through float32. Vectorised for AVX-512 and AVX2
// (picked at run time), parallel over at::parallel_for; results do not depend on the thread count.

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace trellis {

// x: any shape, any float dtype -> contiguous, x's dtype: x * mask(seed, p)
at::Tensor dropout_apply(const at::Tensor& x, uint64_t seed, double p);

// x -> silu(x) * mask(seed, p) (dropout(silu(x)) in one pass)
at::Tensor silu_dropout_forward(const at::Tensor& x, uint64_t seed, double p);

// grad, x: same shape -> d/dx of silu_dropout_forward: grad * mask * silu'(x)
at::Tensor silu_dropout_backward(const at::Tensor& grad, const at::Tensor& x, uint64_t seed,
                                 double p);

}  // namespace trellis
