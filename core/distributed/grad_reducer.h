#pragma once
// Sums the gradients of all ranks (fairseq's DDP all-reduce; docs/distributed.md) in flat
// buckets of at most --bucket-cap-mb MiB: the gradients of consecutive parameters of one dtype
// are copied into one buffer, all-reduced in one collective and copied back. A parameter without
// a gradient on this rank (unused in its batch) takes part with zeros, so every rank reduces the
// same buffers; one without a gradient on every rank (a frozen part: a first small all-reduce
// counts them) keeps none, as in one process. The sum is not overlapped with the backward pass.

#include <ATen/core/Tensor.h>

#include <vector>

namespace trellis {

class Communicator;

class GradReducer {
 public:
  GradReducer(Communicator& comm, std::vector<at::Tensor> params, double bucket_cap_mb);
  // Sums every parameter's .grad() over the ranks, in place.
  void all_reduce();
  size_t num_buckets() const { return buckets_.size(); }

 private:
  Communicator& comm_;
  std::vector<at::Tensor> params_;
  std::vector<std::vector<size_t>> buckets_;  // parameter indices per bucket
};

}  // namespace trellis
