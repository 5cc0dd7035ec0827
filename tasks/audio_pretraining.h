#pragma once
// --task audio_pretraining: self-supervised pretraining on raw unlabelled audio (fairseq's
// AudioPretrainingTask with RawAudioDataset; docs/ssl.md, "wav2vec 2.0 pretraining").
// Data: a split NAME is DATA_ROOT/NAME.tsv (a wav2vec manifest: the root folder on the first
//   line, then path<TAB>num_samples; or a TSV with an `audio` column), DATA_ROOT/NAME.json
//   (NeMo lines) or the folder DATA_ROOT/NAME/ (core/data/unlabeled_manifest.h). Audio is read
//   mono at --sample-rate. Samples shorter than --min-sample-size are skipped (counted).
// Batching size of a sample: its samples, capped at --max-sample-size unless --enable-padding.
// collate (thread-safe; random crops from a generator seeded by (seed, the batch's indices)):
//   --normalize: each whole utterance (x - mean) / sqrt(var + 1e-5) (F.layer_norm, no affine);
//   target = min(shortest, --max-sample-size) (fairseq pad=False: every row is randomly cropped
//   to it, no padding), or with --enable-padding min(longest, --max-sample-size) (shorter rows
//   zero-padded, longer ones cropped; lengths say the valid samples).
// forward: the model must have the ContrastiveModel capability (core/interfaces/
// contrastive_model.h); its outputs fill NetOutput::outputs for the criterion.
// The task has no text: its dictionary holds the special symbols only.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "core/data/dictionary.h"
#include "core/interfaces/task.h"
#include "tasks/unlabeled_dataset.h"

namespace trellis {

struct AudioPretrainingBatch : TaskBatch {
  at::Tensor source;   // (B, S) float waveforms
  at::Tensor lengths;  // (B) int64 valid samples with --enable-padding; undefined otherwise
};

struct AudioPretrainingOptions {
  int64_t sample_rate = 16000;
  bool normalize = false;
  bool enable_padding = false;
  int64_t max_sample_size = 0;
  int64_t min_sample_size = 0;
  std::string batching_style = "fbk";
  bool skip_invalid_audio = false;

  template <class V>
  void visit(V& v) {
    v.field("sample_rate", sample_rate, "rate the audio is read at (resampled when it differs)");
    v.field("normalize", normalize,
            "normalize each utterance to zero mean and unit variance (large LV-60 models)");
    v.field("enable_padding", enable_padding,
            "pad the batch to its longest utterance (with a padding mask) instead of cropping "
            "every row to the shortest");
    v.field("max_sample_size", max_sample_size,
            "crop utterances to at most this many samples (random position); 0 = no limit");
    v.field("min_sample_size", min_sample_size, "skip utterances shorter than this (samples)");
    v.field("batching_style", batching_style,
            "fbk (ascending length, greedy batches, nothing dropped) or fairseq (descending "
            "length; a last batch that is not a multiple of --required-batch-size-multiple is "
            "dropped)")
        .choices({"fbk", "fairseq"});
    v.field("skip_invalid_audio", skip_invalid_audio,
            "skip (with a warning) samples whose audio cannot be read instead of stopping");
  }
  void validate() const;
};

class AudioPretrainingTask : public Task {
 public:
  AudioPretrainingTask(const AudioPretrainingOptions& options, const TaskContext& ctx);

  void load_dataset(const std::string& split, bool is_train) override;
  int64_t dataset_size(const std::string& split) const override;
  const std::vector<int64_t>& source_sizes(const std::string& split) const override;
  Batches batches(const std::string& split, const BatchRequest& request) override;
  BatchPtr collate(const std::string& split, const Batch& batch, uint64_t seed) const override;
  std::unique_ptr<Model> build_model(const std::string& arch,
                                     const AnyOptions& arch_options) override;
  std::unique_ptr<Criterion> build_criterion(const std::string& name, const AnyOptions& options,
                                             const AnyOptions* underlying,
                                             bool sentence_avg) override;
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& batch) override;
  const Dictionary& target_dictionary() const override { return dictionary_; }
  std::map<std::string, std::string> task_state() const override;

  // For tests and tools.
  AudioPretrainingBatch collate_audio(const std::string& split, const Batch& batch,
                                      uint64_t seed) const;
  const UnlabeledDataset& dataset(const std::string& split) const;

 private:
  AudioPretrainingOptions options_;
  TaskContext ctx_;
  Dictionary dictionary_;
  std::map<std::string, std::unique_ptr<UnlabeledDataset>> datasets_;
  std::map<std::string, std::vector<int64_t>> batch_sizes_;  // per split: the batching sizes
  std::string arch_;
  mutable std::atomic<int64_t> skipped_{0};
};

}  // namespace trellis
