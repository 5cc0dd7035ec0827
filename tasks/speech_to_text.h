#pragma once
// --task speech_to_text (fairseq's SpeechToTextTask; docs/tasks.md): speech features (or raw
// audio) -> target text through the target dictionary of the data config YAML.
//
//   DATA_ROOT/<config_yaml>   vocab_filename, bpe_tokenizer, transforms, ... (docs/data_formats.md)
//   DATA_ROOT/<split>.tsv     id, audio, n_frames, tgt_text[, src_text, tgt_lang, ...]
// target = [<lang:tgt_lang>] + dict(bpe(tgt_text)) + eos; size = (n_frames, #pieces).
// Ordering/filtering/batching: --batching-style fbk | fairseq (core/data/batching.h).
// The CTC blank is 0 (<s>, fairseq's audio tasks) for --criterion ctc.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "tasks/source_loader.h"
#include "tasks/speech_dataset.h"
#include "tasks/speech_vocab.h"
#include "core/interfaces/task.h"
#include "tasks/speech_batch.h"

namespace trellis {

struct SpeechToTextOptions {
  std::string config_yaml = "config.yaml";
  int64_t max_source_positions = 6000;
  int64_t max_target_positions = 1024;
  std::string batching_style = "fairseq";
  bool skip_invalid_audio = false;
  // Overrides the data config's training waveform transforms ("" keeps the config's list).
  std::string waveform_transforms;

  template <class V>
  void visit(V& v) {
    v.field("config_yaml", config_yaml, "data config file name, under the data directory");
    v.field("max_source_positions", max_source_positions,
            "longest source (frames; samples for raw audio) kept by the size filter");
    v.field("max_target_positions", max_target_positions,
            "longest target (subword tokens, without eos and language tag) kept");
    v.field("batching_style", batching_style,
            "sample order and batching: fbk (FBK-fairseq: ascending argsort, greedy batches) or "
            "fairseq (upstream: descending order, batches not a multiple of "
            "--required-batch-size-multiple dropped)")
        .choices({"fbk", "fairseq"});
    v.field("skip_invalid_audio", skip_invalid_audio,
            "skip (with a warning, counted) samples whose audio or features cannot be read, "
            "instead of stopping with an error naming the manifest line");
    v.field("waveform_transforms", waveform_transforms,
            "waveform augmentation of the training audio: comma list of transform names "
            "replacing the data config's training list (their options stay in the config; "
            "'none' turns augmentation off; empty: the config's list)");
  }
  void validate() const;
};

class SpeechToTextTask : public Task {
 public:
  SpeechToTextTask(const SpeechToTextOptions& options, const TaskContext& ctx);

  void load_dataset(const std::string& split, bool is_train) override;
  int64_t dataset_size(const std::string& split) const override;
  const std::vector<int64_t>& source_sizes(const std::string& split) const override;
  Batches batches(const std::string& split, const BatchRequest& request) override;
  bool batches_change_per_epoch(const std::string& split) const override;
  BatchPtr collate(const std::string& split, const Batch& batch, uint64_t seed) const override;
  std::unique_ptr<Model> build_model(const std::string& arch,
                                     const AnyOptions& arch_options) override;
  std::unique_ptr<Criterion> build_criterion(const std::string& name, const AnyOptions& options,
                                             const AnyOptions* underlying,
                                             bool sentence_avg) override;
  LossOutput forward(Model& model, Criterion& criterion, const TaskBatch& batch) override;
  const Dictionary& target_dictionary() const override { return vocab_.tgt_dict; }
  const Dictionary* source_dictionary() const override { return vocab_.src_dict.get(); }
  std::map<std::string, std::string> task_state() const override;
  DecodingInput decoding_input(const TaskBatch& batch) const override;
  std::string detokenize(const std::vector<int64_t>& ids) const override;
  TaskTraits traits() const override;
  int64_t ctc_blank() const override { return blank_index(); }
  int64_t audio_sample_rate() const override { return transcription_rate(source_options_); }
  DecodingInput audio_input(const std::vector<std::vector<float>>& waves) const override;

  // For generate, tools and tests ---------------------------------------------------------------
  // collate() with the batch's own type.
  SpeechBatch collate_speech(const std::string& split, const Batch& batch, uint64_t seed) const;
  const SpeechToTextOptions& options() const { return options_; }
  const DataConfig& data_config() const { return vocab_.config; }
  // Target / source subword tokenizers (null: none); encode/decode text with vocab().
  const Bpe* bpe() const { return vocab_.bpe.get(); }
  const Bpe* source_bpe() const { return vocab_.bpe_src.get(); }
  const SpeechVocab& vocab() const { return vocab_; }
  // A loaded split (DataError when it was not loaded).
  const SpeechDataset& dataset(const std::string& split) const;
  // CTC blank of the model and criterion: <ctc_blank> of the source dictionary when the
  // criterion needs source-side CTC (ctc_multi_loss), else 0 (<s>).
  int64_t blank_index() const;
  // Features per frame the model sees: input_feat_per_channel after the transforms
  // (delta_deltas triples it); raw audio: input_feat_per_channel as configured.
  int64_t model_input_dim() const;
  // Samples skipped so far by --skip-invalid-audio (over all collate calls).
  int64_t skipped_samples() const { return skipped_.load(); }

 protected:
  // source_side: also the source dictionary and transcripts (speech_to_text_ctc).
  SpeechToTextTask(const SpeechToTextOptions& options, const TaskContext& ctx, bool source_side);

 private:
  SpeechToTextOptions options_;
  TaskContext ctx_;
  bool source_side_ = false;
  SpeechVocab vocab_;
  SourceOptions source_options_;  // from the data config, read once (collate runs in threads)
  std::map<std::string, std::unique_ptr<SpeechDataset>> datasets_;
  // Training splits under temperature resampling: one size ratio per part.
  std::map<std::string, std::vector<double>> resampling_;
  mutable std::atomic<int64_t> skipped_{0};
};

}  // namespace trellis
