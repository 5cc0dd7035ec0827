#include "core/distributed/grad_reducer.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <algorithm>

namespace trellis {
namespace {

constexpr double kFirstBucketBytes = 1024.0 * 1024.0;  // DDP's first bucket

}  // namespace

GradReducer::GradReducer(Communicator& comm, std::vector<at::Tensor> params, double bucket_cap_mb)
    : comm_(comm), params_(std::move(params)), bucket_of_(params_.size()),
      ready_(params_.size(), false) {
  const double cap = std::max(1.0, bucket_cap_mb * 1024.0 * 1024.0);
  double bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {  // the last parameters first
    const auto& p = params_[k];
    const double size = static_cast<double>(p.numel()) * static_cast<double>(p.element_size());
    const double limit = buckets_.size() == 1 ? std::min(cap, kFirstBucketBytes) : cap;
    const bool new_bucket = buckets_.empty() || bytes + size > limit ||
                            params_[buckets_.back().params.front()].scalar_type() !=
                                p.scalar_type() ||
                            params_[buckets_.back().params.front()].device() != p.device();
    if (new_bucket) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bucket_of_[k] = buckets_.size() - 1;
    bytes += size;
  }
  for (Bucket& b : buckets_) {
    const at::Tensor& last = params_[b.params.back()];
    b.flat = at::empty({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  accumulators_.resize(params_.size());
  hook_keys_.resize(params_.size(), 0);
  register_hooks();
}

GradReducer::~GradReducer() {
  for (size_t i = 0; i < accumulators_.size(); ++i)
    if (accumulators_[i]) accumulators_[i]->del_post_hook(hook_keys_[i]);
}

void GradReducer::register_hooks() {
  // A parameter that does not require a gradient (yet) has no accumulator; it is hooked when it
  // does (prepare_for_backward), and summed in all_reduce() until then.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (accumulators_[i] || !params_[i].requires_grad()) continue;
    accumulators_[i] = torch::autograd::impl::grad_accumulator(params_[i]);
    if (!accumulators_[i]) continue;
    // The engine runs post hooks after AccumulateGrad has added this backward's gradient.
    hook_keys_[i] = accumulators_[i]->add_post_hook(
        std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, i](const torch::autograd::variable_list& outputs,
                      const torch::autograd::variable_list& /*inputs*/) {
              mark_ready(i);
              return outputs;
            }));
  }
}

void GradReducer::prepare_for_backward() {
  std::lock_guard<std::mutex> lock(mutex_);
  register_hooks();
  std::fill(ready_.begin(), ready_.end(), false);
  for (Bucket& b : buckets_) {
    b.waiting = b.params.size();
    b.work.reset();
  }
  next_bucket_ = 0;
  started_in_backward_ = 0;
  armed_ = true;
}

void GradReducer::mark_ready(size_t i) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_ || ready_[i]) return;
  ready_[i] = true;
  --buckets_[bucket_of_[i]].waiting;
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].waiting == 0) {
    start_bucket(buckets_[next_bucket_++]);
    ++started_in_backward_;
  }
}

void GradReducer::start_bucket(Bucket& b) {
  at::NoGradGuard no_grad;
  for (size_t j = 0; j < b.params.size(); ++j) {
    const at::Tensor& p = params_[b.params[j]];
    at::Tensor slot = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
    const at::Tensor& g = p.grad();
    if (g.defined())
      slot.copy_(g);
    else
      slot.zero_();
  }
  b.work = comm_.all_reduce_sum_async(b.flat, "gradient all-reduce");
}

void GradReducer::all_reduce() {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool overlapped = armed_;
  armed_ = false;
  if (!overlapped) {
    for (Bucket& b : buckets_) b.work.reset();
    next_bucket_ = 0;
    started_in_backward_ = 0;
  }
  if (params_.empty()) return;
  at::NoGradGuard no_grad;
  // Which parameters have a gradient on any rank, summed after the buckets (the order of the
  // collectives is the same everywhere): one that no rank has (a frozen part, e.g. wav2vec2's
  // --freeze-finetune-updates) stays undefined, as in one process, so the optimizer skips it
  // instead of applying weight decay to a zero gradient.
  while (next_bucket_ < buckets_.size()) start_bucket(buckets_[next_bucket_++]);
  at::Tensor present = at::zeros({static_cast<int64_t>(params_.size())}, at::kFloat);
  float* flag = present.data_ptr<float>();
  for (size_t i = 0; i < params_.size(); ++i) flag[i] = params_[i].grad().defined() ? 1.0f : 0.0f;
  present = present.to(params_.front().device());
  auto presence = comm_.all_reduce_sum_async(present, "gradient presence all-reduce");
  for (Bucket& b : buckets_) b.work->wait();
  presence->wait();
  present = present.cpu();
  flag = present.data_ptr<float>();
  for (Bucket& b : buckets_) {
    b.work.reset();
    for (size_t j = 0; j < b.params.size(); ++j) {
      at::Tensor& p = params_[b.params[j]];
      if (flag[b.params[j]] == 0.0f) continue;
      const at::Tensor sum = b.flat.narrow(0, b.offsets[j], p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(sum);
      else
        p.mutable_grad() = sum.clone();
    }
  }
}

}  // namespace trellis
