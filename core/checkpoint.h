#pragma once
// Training checkpoints (layout in docs/checkpoint_format.md; names and resume in docs/training.md).
//
// A checkpoint is one file written by torch::pickle_save: a dictionary with fairseq's logical
// fields (cfg, model, optimizer_history, last_optimizer_state, extra_state, task_state), so
// Python's torch.load opens it. Writes are atomic: a temporary file in the same folder, fsync,
// rename, fsync of the folder; an existing checkpoint is never left half-written.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data/epoch_iterator.h"

namespace trellis {

struct CheckpointState {
  int64_t format_version = 1;

  // cfg: the resolved configuration (Config::to_yaml), and the components it selected.
  std::string config_yaml;
  std::string task, arch, criterion, optimizer, lr_scheduler;
  std::map<std::string, std::string> plugins;  // registry "kind:name" -> origin (plugin path)
  std::string save_dir;  // absolute --save-dir of the run that wrote it (core/train/resume.h)

  // model: every parameter and buffer under its fairseq key.
  std::map<std::string, at::Tensor> model;

  // optimizer_history[-1] and last_optimizer_state.
  std::map<std::string, at::Tensor> optimizer_state;  // Optimizer::state_dict()
  std::map<std::string, double> lr_scheduler_state;
  int64_t num_updates = 0;

  // extra_state.
  IteratorState train_iterator;
  // Identifies the frozen training batches (and world size) the position refers to; a resume
  // with other batches restarts the saved epoch instead of continuing with different data.
  std::string train_batches_fingerprint;
  std::optional<double> val_loss;  // the first valid subset's metric at this save
  std::optional<double> best;      // best --best-checkpoint-metric so far
  int64_t patience_runs = 0;       // validations without improvement (survives a resume)
  std::map<std::string, double> meters;  // named sums of the epoch meters
  double previous_training_time = 0.0;   // seconds
  at::Tensor rng_state;                  // the CPU torch generator's state (uint8)

  // task_state: what rebuilds the task's vocabularies (Task::task_state()); values may hold
  // binary data (a SentencePiece model).
  std::map<std::string, std::string> task_state;
};

// Writes `state` to `path` atomically; Error naming the path when it cannot.
void save_checkpoint(const CheckpointState& state, const std::string& path);
// Reads a checkpoint written by save_checkpoint; CheckpointError naming the path and the missing
// or malformed field (and telling a file from a newer format version apart).
CheckpointState load_checkpoint(const std::string& path);
// Copies `from` to `to` atomically (fairseq writes the first candidate, copies the others).
void copy_checkpoint(const std::string& from, const std::string& to);

// Which files a save writes (fairseq's candidates, in order; the first is written, the others
// are copies) and which old files retention then removes.
struct SaveRequest {
  int64_t epoch = 1;
  int64_t num_updates = 0;
  bool end_of_epoch = false;
  std::optional<double> val;  // the first valid subset's metric, when validated
  bool is_best = false;       // val equals or beats the best so far (ties count)
};
struct CheckpointNaming {
  int64_t save_interval = 1;
  int64_t save_interval_updates = 0;
  int64_t keep_interval_updates = -1;
  int64_t keep_last_epochs = -1;
  int64_t keep_best_checkpoints = -1;
  bool no_epoch_checkpoints = false;
  bool no_last_checkpoints = false;
  std::string best_checkpoint_metric = "loss";
  bool maximize_best_checkpoint_metric = false;
};
// File names (relative to save_dir) to write for `request`, in fairseq's order.
std::vector<std::string> checkpoint_names(const SaveRequest& request,
                                          const CheckpointNaming& naming);
// File names in `existing` (names in save_dir) that retention removes after a save.
std::vector<std::string> checkpoints_to_remove(const std::vector<std::string>& existing,
                                               const SaveRequest& request,
                                               const CheckpointNaming& naming);

}  // namespace trellis
