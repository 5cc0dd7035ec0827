#pragma once
// --task masked_token_prediction: self-supervised pretraining on unlabelled audio by masked token
// prediction with denoising (the data side of NeMo's NEST; docs/ssl.md).
//
// Per batch (collate, thread-safe):
//   audio of each utterance read once (16 kHz mono; shorter than --min-audio-seconds: tiled to
//     it, NeMo's repeat padding), rows sorted by descending length;
//   noisy = speech/noise mixing of the batch (core/data/speech_noise_mix.h) with a generator
//     seeded by (seed, the batch's sample indices): the same batch mixes the same way after a
//     resume or in another process;
//   clean and noisy features by --front-end (dither in training only, independent per signal),
//     zero-padded to T = a multiple of --pad-to; lengths = valid frames.
// forward: the model must have the MaskedTokenModel capability (core/interfaces/
// masked_token_model.h); its MaskedTokenOutput fills NetOutput::outputs ("log_probs",
// "targets", "frame_masks", "lengths") and combine_time_steps for the criterion; the mask
// generator is a CPU generator seeded by the batch's seed. The task has no text: its target
// dictionary holds the special symbols only and the decoding hooks refuse.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "core/data/dictionary.h"
#include "core/data/speech_noise_mix.h"
#include "core/interfaces/task.h"
#include "tasks/ssl_batch.h"
#include "tasks/unlabeled_dataset.h"

namespace trellis {

class AudioPool;

struct MaskedTokenPredictionOptions {
  std::string front_end = "nemo_mel";
  int64_t num_mel_bins = 80;
  double dither = 1e-5;
  double min_audio_seconds = 1.0;
  int64_t pad_to = 16;
  int64_t max_source_positions = 6000;
  std::string batching_style = "fbk";
  bool skip_invalid_audio = false;
  std::string noise_manifest;
  bool mix_valid = true;
  SpeechNoiseMixOptions mix;

  template <class V>
  void visit(V& v) {
    v.field("front_end", front_end,
            "features of clean and noisy audio: nemo_mel (NeMo's log-mel, per-feature "
            "normalised; NEST) or kaldi_fbank (Kaldi log-mel fbank, 25/10 ms, then per-feature "
            "mean/variance normalisation over the utterance; no dither)")
        .choices({"nemo_mel", "kaldi_fbank"});
    v.field("num_mel_bins", num_mel_bins, "mel bins per frame (the model's input features)");
    v.field("dither", dither,
            "nemo_mel: dither of training audio (NeMo 1e-5; clean and noisy audio get "
            "independent noise); never applied to validation");
    v.field("min_audio_seconds", min_audio_seconds,
            "audio shorter than this is tiled (repeated) up to it (NeMo pads to 1 s)");
    v.field("pad_to", pad_to,
            "the batch's time axis is zero-padded to a multiple of this (NeMo pad_to 16; the "
            "model's combine_time_steps must divide it)");
    v.field("max_source_positions", max_source_positions,
            "longest utterance kept by the size filter, in 10 ms frames");
    v.field("batching_style", batching_style,
            "sample order and batching: fbk (ascending argsort, greedy batches, nothing dropped) "
            "or fairseq (descending length; a batch whose size is not a multiple of "
            "--required-batch-size-multiple is dropped)")
        .choices({"fbk", "fairseq"});
    v.field("skip_invalid_audio", skip_invalid_audio,
            "skip (with a warning) samples whose audio cannot be read instead of stopping");
    v.field("noise_manifest", noise_manifest,
            "noise for the mixing's noise mode (NeMo noise_manifest): a comma list of NeMo JSON "
            "manifests, audio files, folders and path lists (one per line, or a TSV with an "
            "audio column); empty: noise mode adds nothing");
    v.field("mix_valid", mix_valid,
            "mix validation batches too (deterministically per batch); --no-mix-valid: validate "
            "on clean input");
    v.field("mix_prob", mix.prob, "share of utterances mixed (NeMo batch_augmentor.prob)");
    v.field("noise_ratio", mix.noise_ratio,
            "share of mixed utterances that get noise rather than another utterance's speech");
    v.field("min_r_speech", mix.min_r_speech, "lowest speech-to-interfering-speech ratio, dB");
    v.field("max_r_speech", mix.max_r_speech, "highest speech-to-interfering-speech ratio, dB");
    v.field("min_r_noise", mix.min_r_noise, "lowest speech-to-noise energy ratio, dB");
    v.field("max_r_noise", mix.max_r_noise, "highest speech-to-noise energy ratio, dB");
    v.field("min_mix_rate", mix.min_mix_rate, "shortest mixed share of an utterance");
    v.field("max_mix_rate", mix.max_mix_rate, "longest mixed share of an utterance");
    v.field("min_num_segments", mix.min_num_segments, "fewest interfering segments");
    v.field("max_num_segments", mix.max_num_segments, "most interfering segments");
    v.field("min_num_speakers", mix.min_num_speakers, "fewest interfering speakers (speech mode)");
    v.field("max_num_speakers", mix.max_num_speakers, "most interfering speakers (speech mode)");
  }
  void validate() const;
};

class MaskedTokenPredictionTask : public Task {
 public:
  MaskedTokenPredictionTask(const MaskedTokenPredictionOptions& options, const TaskContext& ctx);
  ~MaskedTokenPredictionTask() override;

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

  // For tests and tools ---------------------------------------------------------------------
  MaskedTokenBatch collate_ssl(const std::string& split, const Batch& batch, uint64_t seed) const;
  const UnlabeledDataset& dataset(const std::string& split) const;
  const MaskedTokenPredictionOptions& options() const { return options_; }
  // The samples at the front end's rate (16 kHz) and the hop in samples (160).
  static constexpr int kSampleRate = 16000;
  static constexpr int64_t kHop = 160;

 private:
  MaskedTokenPredictionOptions options_;
  TaskContext ctx_;
  Dictionary dictionary_;
  std::shared_ptr<const AudioPool> noise_;
  std::map<std::string, std::unique_ptr<UnlabeledDataset>> datasets_;
  std::string arch_;  // the --arch build_model was given
  mutable std::atomic<int64_t> skipped_{0};
};

}  // namespace trellis
