#pragma once
// One update and one validation step (fairseq's Trainer; docs/training.md, "One update").
//
// train_step(group), with K = group.size() micro-batches:
//   torch seed = seed + num_updates (dropout is reproducible after a resume)
//   for each micro-batch: loss_i, sample_size_i = criterion(model(batch)); backward(loss_i)
//   grads /= sum_i sample_size_i            (1 when that sum is 0, as upstream fairseq)
//   gnorm = ||grads||_2 (before clipping);  grads *= min(1, clip_norm / (gnorm + 1e-6))
//   non-finite loss or gnorm: the update is skipped (grads dropped, num_updates unchanged) and
//   logged; more than --max-nonfinite-updates in a row is an error.
//   optimizer.step(); num_updates += 1; lr = scheduler.step_update(num_updates)
//
// With several processes (options.comm), every rank runs the same number of micro-batches; an
// empty one (the end of an uneven shard) runs the dummy batch with its loss multiplied by 0, as
// fairseq does. The gradients are summed over the ranks (GradReducer) while the last
// micro-batch's backward runs (the earlier ones accumulate locally, as DDP's no_sync); then the
// sample sizes, the logged sums, the non-finite and stop flags: the result equals one process
// with the whole global batch. After its micro-batches, a step waits for the other ranks
// (record.wait_seconds: the statistics' all-reduce, which ends when the slowest rank is done),
// then for the gradient sums the backward pass did not hide (record.comm_seconds).

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/interfaces/batch.h"
#include "core/train/meters.h"

namespace trellis {

class Communicator;
class Criterion;
class GradReducer;
class LrScheduler;
class Model;
class Optimizer;
class Task;

struct TrainerOptions {
  uint64_t seed = 1;
  double clip_norm = 0.0;
  int64_t max_nonfinite_updates = 10;
  bool bf16 = false;  // CPU autocast to bfloat16 for the forward pass
  Communicator* comm = nullptr;  // several processes (core/distributed/communicator.h)
  double bucket_cap_mb = 25.0;
  // Sum the gradient buckets during the last micro-batch's backward (--ddp-backend c10d, as
  // DDP); false sums them after it (--ddp-backend legacy_ddp).
  bool overlap_grad_reduce = true;
};

class Trainer {
 public:
  Trainer(Task& task, Model& model, Criterion& criterion, Optimizer& optimizer,
          LrScheduler& scheduler, TrainerOptions options);
  ~Trainer();

  // One update over `group` (the micro-batches of --update-freq). The record's gnorm is unset
  // when the update was skipped. stop_asked: this rank got a stop signal; the record says
  // whether any rank did (all ranks then stop after this update).
  StepRecord train_step(const std::vector<BatchPtr>& group, bool stop_asked = false);
  // The batch an empty micro-batch runs with zero weight (several processes only).
  void set_dummy_batch(BatchPtr batch) { dummy_ = std::move(batch); }
  // Loss and stats of one validation batch (eval mode, no gradient).
  StepRecord valid_step(const TaskBatch& batch);

  int64_t num_updates() const { return num_updates_; }
  // Sets the update count and the LR that goes with it (scheduler.step_update).
  void set_num_updates(int64_t n);
  double lr() const;
  // Scheduler hooks (lr_scheduler.h protocol); each copies the new LR into the optimizer.
  void lr_step_begin_epoch(int64_t epoch);
  void lr_step(int64_t epoch, std::optional<double> val_loss);
  int64_t skipped_in_a_row() const { return nonfinite_in_a_row_; }

 private:
  void apply_lr(double lr);
  // The gradient norm after dividing by the sample size (fairseq's multiply_grads then
  // clip_grad_norm_), and in *grad_scale what the optimizer must multiply the gradients by:
  // 1/sample_size times the clipping coefficient. The gradients are not written.
  double normalize_and_clip(double sample_size, bool* clipped, double* grad_scale);
  // Sums the record, the sample size and the flags over the ranks.
  void all_reduce_record(StepRecord& record, double* sample_size, bool* finite, bool* stop);

  Task& task_;
  Model& model_;
  Criterion& criterion_;
  Optimizer& optimizer_;
  LrScheduler& scheduler_;
  TrainerOptions options_;
  int64_t num_updates_ = 0;
  int64_t nonfinite_in_a_row_ = 0;
  BatchPtr dummy_;
  std::unique_ptr<GradReducer> reducer_;
};

}  // namespace trellis
