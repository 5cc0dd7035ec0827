#pragma once
// The fixed option groups of `train` (fairseq's common / dataset / optimization / checkpoint /
// distributed_training groups), with fairseq's flag names and defaults
// (docs/cli.md, "train"; docs/training.md). Components add their own groups when selected.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trellis {

struct CommonOptions {
  std::vector<std::string> user_dir;
  int64_t seed = 1;
  bool cpu = false;
  int64_t threads = 0;
  std::string log_format;
  int64_t log_interval = 100;
  std::string log_file;
  bool fp16 = false;
  bool bf16 = false;
  bool amp = false;
  bool deterministic = false;

  template <class V>
  void visit(V& v) {
    v.field("user_dir", user_dir, "load plugins: a shared library or a directory of them "
                                  "(repeatable)").repeatable();
    v.field("seed", seed, "random seed for every RNG (weights, batch order, dropout)");
    v.field("cpu", cpu, "train on the CPU even when a GPU is available");
    v.field("threads", threads, "compute threads; 0 = $OMP_NUM_THREADS, else all available cores");
    v.field("log_format", log_format, "progress format ('' = tqdm on a terminal, else simple)")
        .choices({"", "json", "none", "simple", "tqdm"});
    v.field("log_interval", log_interval, "log training progress every N updates");
    v.field("log_file", log_file, "also append the log to this file");
    v.field("fp16", fp16, "mixed precision with float16 and dynamic loss scaling");
    v.field("bf16", bf16, "mixed precision with bfloat16");
    v.field("amp", amp, "automatic mixed precision (autocast)");
    v.field("deterministic", deterministic,
            "deterministic kernels only (at::globalContext().setDeterministicAlgorithms; cuDNN "
            "deterministic, no benchmarking): on the CPU, the backward of advanced indexing at "
            "more than 1 thread; an op without a deterministic kernel is an error naming it "
            "(docs/reliability.md, \"Reproducibility\")");
  }
  void validate() const;
};

// Which components to build; each choice adds that component's option group.
struct ComponentOptions {
  std::string task;
  std::string arch;
  std::string criterion;
  std::string optimizer;
  std::string lr_scheduler = "fixed";

  template <class V>
  void visit(V& v) {
    v.field("task", task, "task: data, vocabularies, model and criterion set-up").selects("task");
    v.field("arch", arch, "model architecture (a named preset of a model)")
        .selects("arch")
        .alias("-a");
    v.field("criterion", criterion, "training criterion (loss)").selects("criterion");
    v.field("optimizer", optimizer, "optimizer").selects("optimizer");
    v.field("lr_scheduler", lr_scheduler, "learning-rate schedule").selects("lr_scheduler");
  }
};

struct DatasetOptions {
  int64_t num_workers = 1;
  bool skip_invalid_size_inputs_valid_test = false;
  std::optional<int64_t> max_tokens;
  std::optional<int64_t> batch_size;
  int64_t required_batch_size_multiple = 8;
  std::string train_subset = "train";
  std::string valid_subset = "valid";
  int64_t validate_interval = 1;
  int64_t validate_interval_updates = 0;
  bool disable_validation = false;
  std::optional<int64_t> max_tokens_valid;
  std::optional<int64_t> batch_size_valid;
  int64_t num_buckets = 0;
  bool sync_buckets = false;
  int64_t data_buffer_size = 10;

  template <class V>
  void visit(V& v) {
    v.field("num_workers", num_workers, "data-loading threads (0 = load in the main thread)");
    v.field("skip_invalid_size_inputs_valid_test", skip_invalid_size_inputs_valid_test,
            "drop valid/test samples longer than the maximum positions instead of failing");
    v.field("max_tokens", max_tokens, "maximum padded source frames per micro-batch");
    v.field("batch_size", batch_size, "maximum sentences per micro-batch");
    v.field("required_batch_size_multiple", required_batch_size_multiple,
            "batch sizes are a multiple of this (when large enough)");
    v.field("train_subset", train_subset, "training splits, comma separated (DATA/<name>.tsv)");
    v.field("valid_subset", valid_subset,
            "validation splits, comma separated; the first drives best checkpoint and patience");
    v.field("validate_interval", validate_interval, "validate every N epochs");
    v.field("validate_interval_updates", validate_interval_updates,
            "also validate every N updates (0 = off)");
    v.field("disable_validation", disable_validation, "never validate");
    v.field("max_tokens_valid", max_tokens_valid, "--max-tokens for validation (default: same)");
    v.field("batch_size_valid", batch_size_valid, "--batch-size for validation (default: same)");
    v.field("num_buckets", num_buckets, "group samples into N length buckets (0 = off)");
    v.field("sync_buckets", sync_buckets,
            "shuffle the training batches in groups of (processes x --update-freq) neighbours "
            "in length order: each update's batches on all ranks come from neighbouring "
            "lengths, so ranks wait less for each other (Lhotse's sync_buckets; changes the "
            "batch order vs fairseq)");
    v.field("data_buffer_size", data_buffer_size, "batches loaded ahead of training");
  }
  void validate() const;
};

struct OptimizationOptions {
  int64_t max_epoch = 0;
  int64_t max_update = 0;
  double clip_norm = 0.0;
  bool sentence_avg = false;
  std::vector<int64_t> update_freq = {1};
  std::vector<double> lr = {0.25};
  double stop_min_lr = -1.0;
  int64_t max_nonfinite_updates = 10;

  template <class V>
  void visit(V& v) {
    v.field("max_epoch", max_epoch, "stop after N epochs (0 = no limit)");
    v.field("max_update", max_update, "stop after N updates (0 = no limit)");
    v.field("clip_norm", clip_norm, "clip the global gradient L2 norm to this (0 = off)");
    v.field("sentence_avg", sentence_avg, "normalize the loss by sentences, not tokens");
    v.field("update_freq", update_freq,
            "accumulate gradients over N micro-batches per update (or one N per epoch)");
    v.field("lr", lr, "learning rate (a comma list: one per epoch, for the fixed schedule)");
    v.field("stop_min_lr", stop_min_lr, "stop when the LR falls to this value or below");
    v.field("max_nonfinite_updates", max_nonfinite_updates,
            "stop with an error after N updates in a row skipped for a non-finite loss or "
            "gradient");
  }
  void validate() const;
};

struct CheckpointOptions {
  std::string save_dir = "checkpoints";
  std::string restore_file = "checkpoint_last.pt";
  std::string finetune_from_model;
  bool reset_dataloader = false;
  bool reset_lr_scheduler = false;
  bool reset_meters = false;
  bool reset_optimizer = false;
  int64_t save_interval = 1;
  int64_t save_interval_updates = 0;
  int64_t keep_interval_updates = -1;
  int64_t keep_last_epochs = -1;
  int64_t keep_best_checkpoints = -1;
  bool no_save = false;
  bool no_epoch_checkpoints = false;
  bool no_last_checkpoints = false;
  std::string best_checkpoint_metric = "loss";
  bool maximize_best_checkpoint_metric = false;
  int64_t patience = -1;

  template <class V>
  void visit(V& v) {
    v.field("save_dir", save_dir, "where checkpoints go (and where resuming looks)");
    v.field("restore_file", restore_file,
            "checkpoint to resume from (the default name is looked up in --save-dir; another "
            "path is taken as given and must exist)");
    v.field("finetune_from_model", finetune_from_model,
            "start from this model's weights, with fresh optimizer, schedule and data state");
    v.field("reset_dataloader", reset_dataloader, "on resume, start the data at epoch 1");
    v.field("reset_lr_scheduler", reset_lr_scheduler, "on resume, do not restore the schedule");
    v.field("reset_meters", reset_meters, "on resume, do not restore the meters");
    v.field("reset_optimizer", reset_optimizer,
            "on resume, do not restore the optimizer state nor the update count");
    v.field("save_interval", save_interval, "save a checkpoint every N epochs");
    v.field("save_interval_updates", save_interval_updates,
            "also save (and validate) every N updates (0 = off)");
    v.field("keep_interval_updates", keep_interval_updates,
            "keep the last N update checkpoints (-1 = all)");
    v.field("keep_last_epochs", keep_last_epochs, "keep the last N epoch checkpoints (-1 = all)");
    v.field("keep_best_checkpoints", keep_best_checkpoints,
            "keep the N best checkpoints by --best-checkpoint-metric (-1 = off)");
    v.field("no_save", no_save, "never save checkpoints");
    v.field("no_epoch_checkpoints", no_epoch_checkpoints, "save only last and best");
    v.field("no_last_checkpoints", no_last_checkpoints, "do not save checkpoint_last.pt");
    v.field("best_checkpoint_metric", best_checkpoint_metric, "validation metric for 'best'");
    v.field("maximize_best_checkpoint_metric", maximize_best_checkpoint_metric,
            "a larger --best-checkpoint-metric is better");
    v.field("patience", patience,
            "stop after N validations without improvement (<= 0: never)");
  }
};

struct DistributedOptions {
  int64_t distributed_world_size = 1;
  int64_t distributed_rank = 0;
  std::string distributed_backend;
  std::string distributed_init_method;
  int64_t distributed_port = -1;
  int64_t device_id = 0;
  std::string ddp_backend = "c10d";
  double bucket_cap_mb = 25.0;
  int64_t distributed_timeout = 1800;

  template <class V>
  void visit(V& v) {
    v.field("distributed_world_size", distributed_world_size, "total number of processes");
    v.field("distributed_rank", distributed_rank, "rank of this process");
    v.field("distributed_backend", distributed_backend, "'' = nccl on GPU, gloo on CPU")
        .choices({"", "gloo", "nccl"});
    v.field("distributed_init_method", distributed_init_method,
            "rendezvous address, e.g. tcp://host:port ('' = torchrun environment)");
    v.field("distributed_port", distributed_port, "rendezvous port (-1 = unset)");
    v.field("device_id", device_id, "GPU of this process");
    v.field("ddp_backend", ddp_backend,
            "gradient sum: during the backward pass (c10d) or after it")
        .choices({"c10d", "legacy_ddp", "no_c10d"});
    v.field("bucket_cap_mb", bucket_cap_mb, "all-reduce bucket size in MiB");
    v.field("distributed_timeout", distributed_timeout,
            "seconds before a stuck collective becomes an error naming the rank");
  }
  void validate() const;
};

}  // namespace trellis
