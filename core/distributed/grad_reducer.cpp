#include "core/distributed/grad_reducer.h"

#include <torch/torch.h>

#include "core/distributed/communicator.h"

namespace trellis {

GradReducer::GradReducer(Communicator& comm, std::vector<at::Tensor> params, double bucket_cap_mb)
    : comm_(comm), params_(std::move(params)) {
  const double cap = std::max(1.0, bucket_cap_mb * 1024.0 * 1024.0);
  double bytes = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const double size = static_cast<double>(p.numel()) * static_cast<double>(p.element_size());
    const bool new_bucket = buckets_.empty() || bytes + size > cap ||
                            params_[buckets_.back().front()].scalar_type() != p.scalar_type();
    if (new_bucket) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(i);
    bytes += size;
  }
}

void GradReducer::all_reduce() {
  at::NoGradGuard no_grad;
  for (const auto& bucket : buckets_) {
    std::vector<at::Tensor> grads;
    grads.reserve(bucket.size());
    for (size_t i : bucket) {
      at::Tensor& p = params_[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    comm_.all_reduce_sum(grads, "gradient all-reduce");
  }
}

}  // namespace trellis
