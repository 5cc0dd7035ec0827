#pragma once
// One update and one validation step (fairseq's Trainer, spec/fairseq-compat.md 6.2, 6.3).
//
// train_step(group), with K = group.size() micro-batches:
//   torch seed = seed + num_updates (dropout is reproducible after a resume)
//   for each micro-batch: loss_i, sample_size_i = criterion(model(batch)); backward(loss_i)
//   grads /= sum_i sample_size_i            (1 when that sum is 0, as upstream fairseq)
//   gnorm = ||grads||_2 (before clipping);  grads *= min(1, clip_norm / (gnorm + 1e-6))
//   non-finite loss or gnorm: the update is skipped (grads dropped, num_updates unchanged) and
//   logged; more than --max-nonfinite-updates in a row is an error.
//   optimizer.step(); num_updates += 1; lr = scheduler.step_update(num_updates)

#include <cstdint>
#include <optional>
#include <vector>

#include "core/train/meters.h"

namespace trellis {

class Criterion;
class LrScheduler;
class Model;
class Optimizer;
class Task;
struct SpeechBatch;


struct TrainerOptions {
  uint64_t seed = 1;
  double clip_norm = 0.0;
  int64_t max_nonfinite_updates = 10;
  bool bf16 = false;  // CPU autocast to bfloat16 for the forward pass
};

class Trainer {
 public:
  Trainer(Task& task, Model& model, Criterion& criterion, Optimizer& optimizer,
          LrScheduler& scheduler, TrainerOptions options);

  // One update over `group` (the micro-batches of --update-freq). The record's gnorm is unset
  // when the update was skipped.
  StepRecord train_step(const std::vector<SpeechBatch>& group);
  // Loss and stats of one validation batch (eval mode, no gradient).
  StepRecord valid_step(const SpeechBatch& batch);

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
  double normalize_and_clip(double sample_size, bool* clipped);

  Task& task_;
  Model& model_;
  Criterion& criterion_;
  Optimizer& optimizer_;
  LrScheduler& scheduler_;
  TrainerOptions options_;
  int64_t num_updates_ = 0;
  int64_t nonfinite_in_a_row_ = 0;
};

}  // namespace trellis
