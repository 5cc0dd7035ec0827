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
  // Which parameters have a gradient on any rank: one that no rank has (a frozen part, e.g.
  // wav2vec2's --freeze-finetune-updates) stays undefined, as in one process, so the optimizer
  // skips it instead of applying weight decay to a zero gradient.
  if (params_.empty()) return;
  at::Tensor present = at::zeros({static_cast<int64_t>(params_.size())}, at::kFloat);
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().defined()) present[static_cast<int64_t>(i)] = 1.0f;
  std::vector<at::Tensor> flags{present.to(params_.front().device())};
  comm_.all_reduce_sum(flags, "gradient presence all-reduce");
  present = flags.front().cpu();
  for (const auto& bucket : buckets_) {
    std::vector<at::Tensor> grads;
    grads.reserve(bucket.size());
    for (size_t i : bucket) {
      at::Tensor& p = params_[i];
      if (present[static_cast<int64_t>(i)].item<float>() == 0.0f) continue;
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    if (!grads.empty()) comm_.all_reduce_sum(grads, "gradient all-reduce");
  }
}

}  // namespace trellis
