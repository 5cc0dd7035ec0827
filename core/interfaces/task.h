#pragma once
// Tasks (--task): own the data of a run (splits, vocabularies, tokenizers, feature transforms)
// and build the model and the criterion that fit it (fairseq's FairseqTask). The built-in
// tasks are listed by `train --help` and described in docs/tasks.md and docs/ssl.md; the
// engine names none of them.
//
// The trainer drives a task like this:
//   auto task = task_registry().create(name, config.find("task")->options, ctx);
//   task->load_dataset("train_a,train_b", /*is_train=*/true);    // concatenated, FBK order
//   Batches b = task->batches("train_a,train_b", request);       // ordered, filtered, batched
//   BatchPtr s = task->collate("train_a,train_b", b[i], seed);    // thread-safe (prefetching)
//   auto model = task->build_model(arch, arch_options);
//   auto crit = task->build_criterion(name, options, underlying_options, sentence_avg);
//   LossOutput out = task->forward(*model, *crit, *s);             // model + criterion on s
// A split is named as on the command line; a comma list names the concatenation of its parts.
// The batch is opaque to the engine (core/interfaces/batch.h): a task may define its own type.
// generate also uses the decoding hooks below (decoding_input, detokenize, ...); a task whose
// models do not decode text keeps their defaults, which say so.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/data/batching.h"
#include "core/interfaces/batch.h"
#include "core/interfaces/criterion_needs.h"
#include "core/interfaces/task_traits.h"
#include "core/options.h"
#include "core/registry.h"

namespace trellis {

class Criterion;
class Dictionary;
class Model;
struct LossOutput;

// How to batch a split (the dataset group's flags, resolved by the trainer).
struct BatchRequest {
  int64_t max_tokens = 0;  // 0 = no limit (then batch_size must be > 0)
  int64_t batch_size = 0;  // 0 = no limit
  int64_t required_batch_size_multiple = 8;
  // (max source frames, max target tokens) the model accepts; <= 0 = no limit. The task takes
  // the element-wise min with its own --max-source-positions/--max-target-positions.
  int64_t max_source_positions = 0;
  int64_t max_target_positions = 0;
  // Validation/test: drop (with a warning) instead of failing on samples over the limits.
  // Training splits always drop them.
  bool skip_invalid_size_inputs = false;
  // The epoch (1-based) whose batches are wanted; only a split whose batches_change_per_epoch
  // reads it.
  int64_t epoch = 1;
  // --seed: the draws of a resampled split depend on it.
  int64_t seed = 1;
};

// A batch as generate feeds it to a model (tensors on the CPU).
struct DecodingInput {
  at::Tensor src_tokens;      // (B, T, F*C) float zero-padded; raw audio: (B, N) float
  at::Tensor src_lengths;     // (B) int64 real frames (samples for raw audio)
  at::Tensor target;          // (B, L) int64 reference ids, right-padded, eos last
  at::Tensor target_lengths;  // (B) int64, including eos (and a language tag)
  double audio_seconds = 0;   // seconds of audio in the batch (real-time factor)
  double frame_seconds = 0;   // seconds per source frame (0.01 fbank, 1/rate raw audio), or 0
};

// What a task needs besides its own options.
struct TaskContext {
  std::string data_root;     // the `data` positional (DATA_ROOT)
  // What the --criterion of the run needs (FBK's source-side CTC adds <ctc_blank> to the
  // source dictionary): declared by the criterion, read from its registry entry.
  CriterionNeeds criterion_needs;
  uint64_t seed = 1;         // --seed (ordering ties, sampling, SpecAugment)
  std::string train_subset;  // --train-subset (fairseq decides "is train" from it)
  // Task state saved in a checkpoint (task_state()); when non-empty the task rebuilds its
  // vocabularies from it instead of from the data root's files (generate, resume elsewhere).
  std::map<std::string, std::string> restored_state;
};

class Task {
 public:
  virtual ~Task() = default;

  // Reads the manifests of `split` (a comma list is concatenated); DataError names the file.
  virtual void load_dataset(const std::string& split, bool is_train) = 0;
  // Number of samples of a loaded split (before size filtering).
  virtual int64_t dataset_size(const std::string& split) const = 0;
  // Source frames of each sample of a loaded split (concatenation order).
  virtual const std::vector<int64_t>& source_sizes(const std::string& split) const = 0;
  // The batch list of a loaded split (docs/tasks.md, "Ordering, size filtering and batching").
  virtual Batches batches(const std::string& split, const BatchRequest& request) = 0;
  // True when the samples of `split` are drawn afresh each epoch (temperature resampling of
  // several training splits): the trainer then asks batches() for every epoch (request.epoch)
  // instead of shuffling one frozen list.
  virtual bool batches_change_per_epoch(const std::string& /*split*/) const { return false; }
  // Reads, transforms and collates the samples of one batch. `seed` drives random transforms
  // (SpecAugment), so a batch collates the same way after a resume. Safe to call from several
  // threads at once. A sample that cannot be read throws DataError naming manifest, line, id.
  virtual BatchPtr collate(const std::string& split, const Batch& batch,
                           uint64_t seed) const = 0;

  // The model for `arch` (a name of the arch registry) with its resolved options; the task
  // fills the ModelContext (feature size, vocabularies, CTC head) from its data and criterion.
  virtual std::unique_ptr<Model> build_model(const std::string& arch,
                                             const AnyOptions& arch_options) = 0;
  // underlying: options of --underlying-criterion (ctc_multi_loss), or null.
  virtual std::unique_ptr<Criterion> build_criterion(const std::string& name,
                                                     const AnyOptions& options,
                                                     const AnyOptions* underlying,
                                                     bool sentence_avg) = 0;
  // Runs `model` on `batch` (teacher forcing) and `criterion` on its output: summed loss,
  // sample size and stats. Tensors are moved to the model's device first.
  virtual LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& batch) = 0;

  virtual const Dictionary& target_dictionary() const = 0;
  // The source (transcript/CTC) dictionary, or null when the task has none.
  virtual const Dictionary* source_dictionary() const { return nullptr; }

  // What a checkpoint must hold to rebuild this task without the data root's vocabulary files:
  // e.g. {"tgt_dict": dict.txt text, "src_dict": ..., "config_yaml": ...}.
  virtual std::map<std::string, std::string> task_state() const = 0;

  // Decoding (generate) ------------------------------------------------------------------------
  // The model input and the reference of a batch this task collated; the default throws
  // ConfigError (the task's models do not decode text).
  virtual DecodingInput decoding_input(const TaskBatch& batch) const;
  // Target-dictionary ids -> the text scorers compare (eos, pad and a language tag removed,
  // subwords joined); the default joins the dictionary's symbols with spaces.
  virtual std::string detokenize(const std::vector<int64_t>& ids) const;
  // What scorers may rely on (a scorer refuses a task that lacks what it needs).
  virtual TaskTraits traits() const { return {}; }
  // The CTC blank index of the task's models (source-side CTC: the source dictionary's
  // <ctc_blank>; otherwise 0, fairseq's audio tasks).
  virtual int64_t ctc_blank() const { return 0; }

  // Audio outside any manifest (transcribe, trellis::Transcriber) -------------------------------
  // The rate audio_input() takes waveforms at; 0 when the task's models do not read audio.
  virtual int64_t audio_sample_rate() const { return 0; }
  // waves: mono float waveforms at audio_sample_rate() -> the model input computed as this
  // task computes it for the prepared version of the same audio (features and the data
  // config's evaluation transforms, or the waveform itself); target empty. Thread-safe.
  // The default throws ConfigError.
  virtual DecodingInput audio_input(const std::vector<std::vector<float>>& waves) const;
};

using TaskRegistry = Registry<Task, const TaskContext&>;
TaskRegistry& task_registry();

}  // namespace trellis
