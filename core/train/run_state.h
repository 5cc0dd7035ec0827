#pragma once
// Everything one training run owns (task, model, criterion, optimizer, schedule, trainer,
// batch iterator, meters, best metric and patience), built from a parsed `train` config, and
// the steps of fairseq's loop that touch more than one of them: validate_and_save, validation
// of every --valid-subset, checkpoint save (names and retention of core/checkpoint.h) and
// restore (resume.h), progress lines and save_dir/metrics.jsonl.
//
// run_state.cpp builds, run_state_validate.cpp validates and logs, run_state_checkpoint.cpp
// saves and restores.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/data/epoch_iterator.h"
#include "core/progress.h"
#include "core/train/meters.h"
#include "core/train/resume.h"
#include "core/train/save_dir_lock.h"
#include "core/train/trainer.h"

namespace trellis {

class Communicator;
class Config;
class Criterion;
class LrScheduler;
class Model;
class Optimizer;
class Task;
struct CheckpointOptions;
struct CommonOptions;
struct DatasetOptions;
struct OptimizationOptions;

class RunState {
 public:
  explicit RunState(const Config& config);
  ~RunState();

  Trainer& trainer() { return *trainer_; }
  EpochBatchIterator& iterator() { return *iterator_; }
  MeterWindow& inner_meters() { return inner_; }
  MeterWindow& epoch_meters() { return epoch_; }
  const OptimizationOptions& optimization() const;
  const CommonOptions& common() const;
  const CheckpointOptions& checkpoint_options() const;
  double training_seconds() const;
  // Rank 0 (or the only process) writes checkpoints, config.yaml and metrics.jsonl.
  bool is_master() const;

  // The collated batches of `batches` (this epoch's rest), loaded ahead by --num-workers
  // threads.
  std::unique_ptr<Prefetcher<BatchPtr>> prefetch_train(const Batches& batches, int64_t epoch);

  // At the start of each epoch's loop (a fresh epoch, or the rest of a resumed one).
  void begin_epoch(bool resumed_mid_epoch);
  // After each update: validates and saves when fairseq would. At the end of an epoch (even
  // one where training stops), steps the LR schedule with the epoch's last validation (the first valid subset's
  // metric; fairseq's lr_step(epoch, valid_losses[0])) before saving, so that a checkpoint
  // taken at the end of an epoch already holds that step and a resume from it equals an
  // uninterrupted run. Returns true when training must stop (max-update, patience).
  bool validate_and_save(bool end_of_epoch);
  void save_last_on_signal();

  // A progress line (tag "train_inner", "train" or a valid subset) in --log-format, also
  // appended to save_dir/metrics.jsonl.
  void log_progress(const MeterWindow& meters, const std::string& tag, int64_t epoch,
                    int64_t update, int64_t total);
  // validation: stats of a validation (its tag is the subset name, possibly "train").
  void log_stats(const Stats& stats, const std::string& tag, int64_t epoch, int64_t update,
                 int64_t total, bool validation = false);
  void draw_bar(const MeterWindow& meters, int64_t epoch, int64_t update, int64_t total);

 private:
  void build();
  void connect();  // several processes: the process group, shards and dummy batches
  void sync_model_from_rank0();
  void restore(const ResumePlan& plan, CheckpointState state);
  std::string last_path() const;  // save_dir/checkpoint_last.pt
  std::vector<double> validate_all();
  double validate(const std::string& subset);
  bool should_stop_early(std::optional<double> value);
  void save(bool end_of_epoch, std::optional<double> val);
  CheckpointState capture() const;
  ReportExtras extras() const;
  bool better(double a, double b) const;

  const Config& config_;
  std::unique_ptr<Communicator> comm_;  // null for a single process
  std::unique_ptr<SaveDirLock> save_dir_lock_;  // rank 0 with a save dir: one run per folder
  int64_t world_size_ = 1, rank_ = 0;
  std::map<std::string, BatchPtr> valid_dummies_;
  std::string data_root_, train_split_;
  std::vector<std::string> valid_splits_;
  std::unique_ptr<Task> task_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<Criterion> criterion_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LrScheduler> scheduler_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<EpochBatchIterator> iterator_;
  std::map<std::string, Batches> valid_batches_;
  std::string batches_fingerprint_;  // of the frozen training batches (CheckpointState)
  MeterWindow inner_, epoch_;
  std::optional<double> best_;
  int64_t patience_runs_ = 0;
  std::optional<double> last_val_;
  // The latest validation of the current epoch (restored with a mid-epoch checkpoint).
  std::optional<double> epoch_valid_;
  double previous_training_time_ = 0.0;
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<Progress> progress_;
  std::ofstream metrics_jsonl_;
  bool bar_drawn_ = false;
};

}  // namespace trellis
