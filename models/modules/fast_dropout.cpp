#include "models/modules/fast_dropout.h"

#include <torch/torch.h>

namespace trellis {

// x: any float -> same shape and dtype
at::Tensor FastDropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  if (p_ >= 1.0) return x * 0.0;
  at::Tensor keep;
  {
    torch::NoGradGuard ng;
    keep = torch::rand_like(x).ge_(p_).mul_(1.0 / (1.0 - p_));
  }
  return x * keep;
}

}  // namespace trellis
