#include "models/modules/sync_batch_norm.h"

#include <torch/torch.h>

#include <cstdint>

#include "core/distributed/communicator.h"

namespace trellis {

namespace {

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                            int64_t comm) {
    ctx->saved_data["comm"] = comm;
    auto out = x.detach().clone().contiguous();
    reinterpret_cast<Communicator*>(comm)->all_reduce_sum(out, "SyncBatchNorm statistics");
    return out;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    auto g = grads[0].clone().contiguous();
    comm->all_reduce_sum(g, "SyncBatchNorm gradient");
    return {g, at::Tensor()};
  }
};

}  // namespace

at::Tensor all_reduce_sum_autograd(const at::Tensor& stats, Communicator& comm) {
  return AllReduceSum::apply(stats, static_cast<int64_t>(reinterpret_cast<intptr_t>(&comm)));
}

SyncBatchNorm1dImpl::SyncBatchNorm1dImpl(int64_t channels, bool sync, double eps,
                                         double momentum)
    : sync_(sync), eps_(eps), momentum_(momentum) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
  running_mean_ = register_buffer("running_mean", torch::zeros({channels}));
  running_var_ = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked_ = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

// x: (B, C, T) or (B, C) -> same shape
at::Tensor SyncBatchNorm1dImpl::forward(const at::Tensor& x) {
  Communicator* comm = comm_ ? comm_ : process_communicator();
  const bool global = is_training() && sync_ && comm && comm->world_size() > 1;
  if (!global) {
    if (is_training()) {
      torch::NoGradGuard ng;
      num_batches_tracked_.add_(1);
    }
    return torch::batch_norm(x, weight_, bias_, running_mean_, running_var_, is_training(),
                             momentum_, eps_, at::globalContext().userEnabledCuDNN());
  }
  // statistics in float32 at least (bf16/fp16 inputs under autocast)
  const at::Tensor xs = x.scalar_type() == torch::kDouble ? x : x.to(torch::kFloat);
  const int64_t C = xs.size(1);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < xs.dim(); ++d) dims.push_back(d);
  const int64_t local = xs.numel() / C;
  auto stats = torch::cat({xs.sum(dims), (xs * xs).sum(dims),
                           torch::full({1}, double(local), xs.options())});
  stats = all_reduce_sum_autograd(stats, *comm);  // 2C + 1
  auto n = stats.narrow(0, 2 * C, 1);
  auto mean = stats.narrow(0, 0, C) / n;
  auto var = (stats.narrow(0, C, C) / n - mean * mean).clamp_min(0.0);
  {
    torch::NoGradGuard ng;
    const double count = n.item<double>();
    running_mean_.mul_(1 - momentum_).add_(mean.detach().to(running_mean_.dtype()) * momentum_);
    running_var_.mul_(1 - momentum_)
        .add_(var.detach().to(running_var_.dtype()) * (count / std::max(count - 1, 1.0)) *
              momentum_);
    num_batches_tracked_.add_(1);
  }
  std::vector<int64_t> shape(xs.dim(), 1);
  shape[1] = C;
  auto scale = (weight_.to(xs.dtype()) * torch::rsqrt(var + eps_)).view(shape);
  return (xs - mean.view(shape)) * scale + bias_.to(xs.dtype()).view(shape);
}

}  // namespace trellis
