#pragma once
// Sums the gradients of all ranks (PyTorch DDP's reducer; docs/distributed.md) in flat buckets
// of at most --bucket-cap-mb MiB, overlapped with the backward pass of the update's last
// micro-batch.
//
// Buckets hold consecutive parameters of one dtype in reverse order (the last layers' gradients
// are ready first); the first bucket is capped at 1 MiB, as DDP's, so that the first collective
// starts early. Each parameter's gradient accumulator gets a hook; after prepare_for_backward()
// (called before the last micro-batch's backward; earlier micro-batches accumulate locally,
// like DDP's no_sync), the hook marks the parameter ready, and a bucket whose parameters are all
// ready is copied into its flat buffer and its all-reduce started while the backward pass goes
// on. Buckets start in order on every rank (a ready bucket waits for the ones before it), so
// all ranks issue the same collectives in the same order. all_reduce() (after the backward)
// starts the buckets that did not complete (a parameter without a gradient in this backward),
// sums a presence flag per parameter, waits for every collective and copies the sums back.
//
// Semantics are the non-overlapped ones: a parameter without a gradient on this rank (unused in
// its batches) takes part with zeros, so every rank reduces the same buffers; one without a
// gradient on every rank (a frozen part) keeps none, as in one process (its zeros are summed
// but not written back). Without prepare_for_backward(), all_reduce() sums every bucket after
// the backward (--ddp-backend legacy_ddp). With 2 ranks the sums are bitwise those of adding
// the two gradients; with more, Gloo's ring adds each element in an order that depends on its
// place in the buffer, so another bucketing may change the last bit.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/distributed/communicator.h"

namespace torch::autograd {
struct Node;
}

namespace trellis {

class GradReducer {
 public:
  GradReducer(Communicator& comm, std::vector<at::Tensor> params, double bucket_cap_mb);
  ~GradReducer();  // removes the hooks
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Before the backward pass of the update's last micro-batch: from then on, buckets are summed
  // as their gradients become ready. all_reduce() must follow (on every rank).
  void prepare_for_backward();
  // Sums every parameter's .grad() over the ranks, in place: finishes what the backward pass
  // started, or does it all now when prepare_for_backward() was not called.
  void all_reduce();

  size_t num_buckets() const { return buckets_.size(); }
  // Parameter indices (into the constructor's list) of bucket b, in bucket order.
  const std::vector<size_t>& bucket(size_t b) const { return buckets_[b].params; }
  // How many buckets started during the last backward pass (the rest started in all_reduce()).
  size_t buckets_started_in_backward() const { return started_in_backward_; }

 private:
  struct Bucket {
    std::vector<size_t> params;
    std::vector<int64_t> offsets;  // of each parameter in `flat`
    at::Tensor flat;               // [sum of numel], the parameters' dtype and device
    size_t waiting = 0;            // parameters not yet ready in this backward
    std::unique_ptr<Communicator::Pending> work;
  };

  void register_hooks();
  void mark_ready(size_t param);
  void start_bucket(Bucket& bucket);  // copy the gradients in (zeros where none), start the sum

  Communicator& comm_;
  std::vector<at::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // per parameter
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;  // kept alive, hooked
  std::vector<uintptr_t> hook_keys_;
  std::mutex mutex_;  // hooks may run on the autograd engine's device threads
  bool armed_ = false;
  std::vector<bool> ready_;
  size_t next_bucket_ = 0;  // the next bucket to start, in order
  size_t started_in_backward_ = 0;
};

}  // namespace trellis
