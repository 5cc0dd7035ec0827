#pragma once
// x.permute(dims).contiguous() whose backward is contiguous too. With the plain ops the
// gradient flowing back through a permute is a strided view, and the elementwise backward that
// consumes it (SiLU, GLU, BatchNorm) walks memory across strides: in the conformer's conv module
// that made those backwards 2-3x slower than on contiguous gradients. Here both directions pay
// one copy, and every backward sees contiguous memory.

#include <ATen/core/Tensor.h>

#include <vector>

namespace trellis {

// x: any tensor; dims: a permutation of x's dims -> x.permute(dims), contiguous
at::Tensor permuted_contiguous(const at::Tensor& x, std::vector<int64_t> dims);

}  // namespace trellis
