#pragma once
// BatchNorm1d whose training statistics cover every process of a data-parallel run (PyTorch's
// SyncBatchNorm, NeMo's sync_batchnorm; docs/models.md, "Fast Conformer"). Keys as BatchNorm1d:
// weight, bias, running_mean, running_var, num_batches_tracked.
//   eval, or training in one process: exactly torch::batch_norm (BatchNorm1d).
//   training with a communicator of world size > 1: per channel, the sums of x and x^2 and the
//   element count are all-reduced (one collective; its backward all-reduces the incoming
//   gradient, so each rank gets the gradient of the summed loss through the global statistics);
//   mean = S/n, var = S2/n - mean^2 (biased) normalise; running_var takes var * n/(n-1).
// Every rank must run the same number of training forwards and backwards (a rank missing one
// makes the others wait until --distributed-timeout).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace trellis {

class Communicator;

class SyncBatchNorm1dImpl : public torch::nn::Module {
 public:
  // sync false: plain BatchNorm1d even in a multi-process run (--no-syncbatchnorm)
  explicit SyncBatchNorm1dImpl(int64_t channels, bool sync = true, double eps = 1e-5,
                               double momentum = 0.1);
  // x: (B, C, T) or (B, C) float -> same shape
  at::Tensor forward(const at::Tensor& x);
  // The communicator to use instead of process_communicator() (tests run ranks as threads).
  void set_communicator(Communicator* comm) { comm_ = comm; }

 private:
  bool sync_;
  double eps_, momentum_;
  Communicator* comm_ = nullptr;
  at::Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};
TORCH_MODULE(SyncBatchNorm1d);

// stats: any float tensor -> its sum over the ranks of `comm`; backward: the gradient's sum
at::Tensor all_reduce_sum_autograd(const at::Tensor& stats, Communicator& comm);

}  // namespace trellis
