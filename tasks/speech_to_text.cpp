#include "tasks/speech_to_text.h"

#include <random>

#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "tasks/collate.h"
#include "tasks/task_helpers.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.task");

void check_train_names(const std::string& split) {
  for (const std::string& name : split_names(split)) {
    TRELLIS_CHECK(name.rfind("train", 0) == 0, ConfigError,
                  "training split '{}' (of '{}'): training splits must be named like \"train*\" "
                  "(fairseq's speech tasks tell training splits by name)",
                  name, split);
  }
}

// prepend_tgt_lang_tag: the loss must skip the tag (fairseq's SpeechToTextTask.build_criterion).
void check_ignore_prefix(const std::string& name, const AnyOptions& options,
                         const AnyOptions* underlying, const std::string& config_path) {
  std::vector<AnyOptions> groups{options};
  Fields top = options.fields();
  if (underlying != nullptr) {
    groups.push_back(*underlying);
  } else if (Field* f = top.find("underlying_criterion")) {
    const std::string u = f->value_string();
    if (criterion_registry().contains(u)) groups.push_back(criterion_registry().make_options(u));
  }
  for (const AnyOptions& g : groups) {
    Fields fields = g.fields();
    Field* f = fields.find("ignore_prefix_size");
    if (f == nullptr) continue;
    TRELLIS_CHECK(f->value_string() == "1", ConfigError,
                  "please set --ignore-prefix-size 1: the target language tag is prepended to "
                  "every target (prepend_tgt_lang_tag in {}), got {}",
                  config_path, f->value_string());
    return;
  }
  throw ConfigError(fmt::format(
      "--criterion {}: prepend_tgt_lang_tag ({}) needs a criterion that drops the language tag "
      "with --ignore-prefix-size 1 (e.g. label_smoothed_cross_entropy)",
      name, config_path));
}

}  // namespace

void SpeechToTextOptions::validate() const {
  TRELLIS_CHECK(!config_yaml.empty(), ConfigError, "--config-yaml: empty file name");
  parse_batching_style(batching_style);
}

SpeechToTextTask::SpeechToTextTask(const SpeechToTextOptions& options, const TaskContext& ctx)
    : SpeechToTextTask(options, ctx, false) {}

SpeechToTextTask::SpeechToTextTask(const SpeechToTextOptions& options, const TaskContext& ctx,
                                   bool source_side)
    : options_(options), ctx_(ctx), source_side_(source_side) {
  options_.validate();
  if (!ctx.train_subset.empty()) check_train_names(ctx.train_subset);
  vocab_ = ctx.restored_state.empty()
               ? SpeechVocab::from_files(ctx.data_root, options_.config_yaml, source_side)
               : SpeechVocab::from_state(ctx.restored_state, ctx.data_root, source_side);
  source_options_ = SourceOptions::from_config(vocab_.config);
  logger.info("target dictionary size ({}): {}", vocab_.config.vocab_filename,
              vocab_.tgt_dict.size());
  if (source_side) {
    // FBK: the CTC blank of ctc_multi_loss is the source dictionary's last symbol.
    // A restored dictionary already holds it.
    if (ctx.criterion_needs.source_ctc && !vocab_.src_dict->contains("<ctc_blank>"))
      vocab_.src_dict->add_symbol("<ctc_blank>");
    logger.info("source dictionary size ({}): {}", vocab_.config.vocab_filename_src,
                vocab_.src_dict->size());
  }
}

void SpeechToTextTask::load_dataset(const std::string& split, bool is_train) {
  if (is_train) check_train_names(split);
  std::optional<std::string> waveform;
  if (!options_.waveform_transforms.empty())
    waveform = options_.waveform_transforms == "none" ? "" : options_.waveform_transforms;
  auto d = load_speech_dataset(ctx_.data_root, split, is_train, vocab_, source_side_, waveform);
  logger.info("{}: {} samples from {} manifest(s)", split, d->size(), d->parts.size());
  resampling_.erase(split);
  if (is_train && d->parts.size() > 1 && vocab_.config.sampling_alpha != 1.0)
    resampling_[split] = resampling_ratios(*d, vocab_.config.sampling_alpha);
  datasets_[split] = std::move(d);
}

const SpeechDataset& SpeechToTextTask::dataset(const std::string& split) const {
  auto it = datasets_.find(split);
  TRELLIS_CHECK(it != datasets_.end(), DataError, "split '{}' was not loaded (load_dataset)",
                split);
  return *it->second;
}

int64_t SpeechToTextTask::dataset_size(const std::string& split) const {
  return dataset(split).size();
}

const std::vector<int64_t>& SpeechToTextTask::source_sizes(const std::string& split) const {
  return dataset(split).n_frames;
}

Batches SpeechToTextTask::batches(const std::string& split, const BatchRequest& request) {
  const SpeechDataset& d = dataset(split);
  const BatchingStyle style = parse_batching_style(options_.batching_style);
  int64_t max_src = min_limit(options_.max_source_positions, request.max_source_positions);
  int64_t max_tgt = min_limit(options_.max_target_positions, request.max_target_positions);
  if (d.is_train) {  // fairseq resolves training max positions with --max-tokens too
    max_src = min_limit(max_src, request.max_tokens);
    max_tgt = min_limit(max_tgt, request.max_tokens);
  }
  BatchingOptions bo;
  bo.max_tokens = request.max_tokens;
  bo.batch_size = request.batch_size;
  bo.required_batch_size_multiple = request.required_batch_size_multiple;
  bo.style = style;
  // fairseq's SpeechToTextDataset: shuffle = the config's `shuffle` for training splits only
  if (d.is_train && vocab_.config.shuffle)
    bo.tie_shuffle_seed = static_cast<uint32_t>(request.seed);
  const bool skip = d.is_train || request.skip_invalid_size_inputs;
  auto r = resampling_.find(split);
  if (r == resampling_.end()) return batch_speech_dataset(d, max_src, max_tgt, skip, bo);
  const std::vector<int64_t> picks = resampled_epoch(d, r->second, request.seed, request.epoch);
  return batch_speech_dataset(d, max_src, max_tgt, skip, bo, &picks);
}

bool SpeechToTextTask::batches_change_per_epoch(const std::string& split) const {
  return resampling_.count(split) > 0;
}

int64_t SpeechToTextTask::model_input_dim() const {
  const DataConfig& c = vocab_.config;
  if (c.use_audio_input) return c.input_feat_per_channel;
  std::vector<std::unique_ptr<FeatureTransform>> fresh;
  const std::vector<std::unique_ptr<FeatureTransform>>* transforms = &fresh;
  if (!datasets_.empty()) {
    transforms = &datasets_.begin()->second->parts.front().transforms;
  } else {
    fresh = build_transforms(c.root, "", c.path, true);
  }
  int64_t dim = c.input_feat_per_channel;
  for (const auto& t : *transforms) dim = t->output_dim(dim);
  return dim;
}

BatchPtr SpeechToTextTask::collate(const std::string& split, const Batch& batch,
                                   uint64_t seed) const {
  return std::make_shared<const SpeechBatch>(collate_speech(split, batch, seed));
}

SpeechBatch SpeechToTextTask::collate_speech(const std::string& split, const Batch& batch,
                                             uint64_t seed) const {
  const SpeechDataset& d = dataset(split);
  const DataConfig& cfg = vocab_.config;
  SourceOptions so = source_options_;
  so.training = d.is_train;  // the NeMo front end dithers training audio only
  std::vector<CollateItem> items;
  items.reserve(batch.size());
  for (int64_t idx : batch) {
    TRELLIS_CHECK(idx >= 0 && idx < d.size(), Error,
                  "collate: sample index {} out of range (split '{}' has {})", idx, split,
                  d.size());
    const SpeechSample& s = d.samples[static_cast<size_t>(idx)];
    CollateItem item;
    try {
      // A sample's augmentation depends on (seed, index) only, not on its batch; the seed holds
      // the epoch (train: collate_seed). Waveform transforms draw first, then SpecAugment.
      std::mt19937_64 rng(splitmix64(seed ^ splitmix64(static_cast<uint64_t>(idx))));
      const SpeechDatasetPart& part = d.parts[static_cast<size_t>(s.part)];
      SourceData src = load_source(s.audio, so, &part.waveform_transforms, &rng);
      item.dim = src.dim;
      if (!so.raw_audio) {
        const auto& transforms = part.transforms;
        item.dim = apply_transforms(transforms, src.data, src.frames, src.dim, rng);
        int64_t want_dim = cfg.input_feat_per_channel;
        for (const auto& t : transforms) want_dim = t->output_dim(want_dim);
        want_dim *= cfg.input_channels;
        TRELLIS_CHECK(item.dim == want_dim, DataError,
                      "{} features per frame after the transforms, but the data config says "
                      "{} (input_feat_per_channel {} x input_channels {}, then the transforms)",
                      item.dim, want_dim, cfg.input_feat_per_channel, cfg.input_channels);
      }
      item.source = std::move(src.data);
      item.frames = src.frames;
    } catch (const std::exception& e) {
      const std::string msg = fmt::format("{}: {}", d.where(idx), e.what());
      if (!options_.skip_invalid_audio) throw DataError(msg);
      const int64_t n = ++skipped_;
      logger.warn("skipping an unreadable sample ({} so far, --skip-invalid-audio): {}", n, msg);
      continue;
    }
    item.index = idx;
    item.id = d.ids[static_cast<size_t>(idx)];
    item.target = &s.target;
    item.transcript = source_side_ ? &s.transcript : nullptr;
    items.push_back(std::move(item));
  }
  return collate_items(std::move(items), so.raw_audio, vocab_.tgt_dict.pad(),
                       vocab_.tgt_dict.eos(), so.pad_frames_to());
}

int64_t SpeechToTextTask::blank_index() const {
  if (ctx_.criterion_needs.source_ctc && vocab_.src_dict &&
      vocab_.src_dict->contains("<ctc_blank>"))
    return vocab_.src_dict->index("<ctc_blank>");
  return 0;
}

std::unique_ptr<Model> SpeechToTextTask::build_model(const std::string& arch,
                                                     const AnyOptions& arch_options) {
  ModelContext m;
  m.input_feat_per_channel = model_input_dim();
  m.input_channels = vocab_.config.input_channels;
  m.src_vocab_size = vocab_.src_dict ? vocab_.src_dict->size() : 0;
  m.tgt_vocab_size = vocab_.tgt_dict.size();
  m.pad = vocab_.tgt_dict.pad();
  m.eos = vocab_.tgt_dict.eos();
  m.blank = blank_index();
  m.ctc_enabled = ctx_.criterion_needs.ctc && ctx_.criterion_needs.decoder;
  return model_registry().create(arch_registry().info(arch).target, arch_options, m);
}

std::unique_ptr<Criterion> SpeechToTextTask::build_criterion(const std::string& name,
                                                             const AnyOptions& options,
                                                             const AnyOptions* underlying,
                                                             bool sentence_avg) {
  const bool multi = criterion_registry().needs(name, options).source_ctc;
  TRELLIS_CHECK(!multi || source_side_, ConfigError,
                "--criterion {} needs source transcripts (CTC on the source side): use a task "
                "with a source side (--task speech_to_text_ctc)",
                name);
  TRELLIS_CHECK(!multi || vocab_.src_dict->contains("<ctc_blank>"), ConfigError,
                "--criterion {}: the source dictionary has no <ctc_blank> (the task was built "
                "for a criterion without source-side CTC)",
                name);
  if (vocab_.config.prepend_tgt_lang_tag)
    check_ignore_prefix(name, options, underlying, vocab_.config.path);
  CriterionContext c;
  c.pad = vocab_.tgt_dict.pad();
  c.eos = vocab_.tgt_dict.eos();
  c.blank = multi ? vocab_.src_dict->index("<ctc_blank>") : 0;
  c.sentence_avg = sentence_avg;
  c.ctc_dictionary = multi ? vocab_.src_dict.get() : &vocab_.tgt_dict;
  c.underlying_options = underlying;
  return criterion_registry().create(name, options, c);
}

LossOutput SpeechToTextTask::forward(Model& model, Criterion& criterion,
                                     const TaskBatch& any_batch) {
  const SpeechBatch& batch = batch_cast<SpeechBatch>(any_batch);
  auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  auto to = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
  ModelOutput out =
      model.forward(to(batch.src_tokens), to(batch.src_lengths), to(batch.prev_output_tokens));
  NetOutput net;
  if (model.has_decoder()) {
    net.decoder_logits = out.logits;
    net.ctc_logits = out.encoder.ctc_logits;
  } else {
    net.ctc_logits = out.logits;
  }
  net.ctc_lengths = out.encoder.ctc_lengths;
  CriterionTargets t;
  t.target = to(batch.target);
  t.target_lengths = to(batch.target_lengths);
  t.transcript = to(batch.transcript);
  t.transcript_lengths = to(batch.transcript_lengths);
  t.ntokens = batch.ntokens;
  t.nsentences = batch.size();
  t.ids = &batch.ids;
  return criterion.forward(net, t);
}

std::map<std::string, std::string> SpeechToTextTask::task_state() const { return vocab_.state(); }

DecodingInput SpeechToTextTask::decoding_input(const TaskBatch& any_batch) const {
  const SpeechBatch& b = batch_cast<SpeechBatch>(any_batch);
  DecodingInput in;
  in.src_tokens = b.src_tokens;
  in.src_lengths = b.src_lengths;
  in.target = b.target;
  in.target_lengths = b.target_lengths;
  // Raw audio is 16 kHz samples; features are 10 ms frames.
  const bool raw = b.src_tokens.defined() && b.src_tokens.dim() == 2;
  in.audio_seconds = static_cast<double>(b.src_frames) * (raw ? 1.0 / 16000 : 0.01);
  return in;
}

// As collate_speech() on the prepared audio: the source (load_source's, without augmentation),
// then the data config's evaluation transforms (split "": `_eval`, else `*`).
DecodingInput SpeechToTextTask::audio_input(const std::vector<std::vector<float>>& waves) const {
  const DataConfig& cfg = vocab_.config;
  const auto transforms = build_transforms(cfg.root, "", cfg.path, false);
  const std::vector<int32_t> no_target;
  std::vector<CollateItem> items;
  std::mt19937_64 rng(0);  // evaluation transforms draw nothing
  for (size_t i = 0; i < waves.size(); ++i) {
    SourceData src = source_from_waveform(waves[i], source_options_);
    CollateItem item;
    item.dim = src.dim;
    if (!source_options_.raw_audio)
      item.dim = apply_transforms(transforms, src.data, src.frames, src.dim, rng);
    item.source = std::move(src.data);
    item.frames = src.frames;
    item.index = static_cast<int64_t>(i);
    item.id = std::to_string(i);
    item.target = &no_target;
    items.push_back(std::move(item));
  }
  const SpeechBatch b = collate_items(std::move(items), source_options_.raw_audio,
                                      vocab_.tgt_dict.pad(), vocab_.tgt_dict.eos(),
                                      source_options_.pad_frames_to());
  DecodingInput in;
  in.src_tokens = b.src_tokens;    // (B, T, F) float; raw audio (B, N)
  in.src_lengths = b.src_lengths;  // (B) int64
  in.target = b.target;
  in.target_lengths = b.target_lengths;
  const int rate = transcription_rate(source_options_);
  in.frame_seconds = source_options_.raw_audio ? 1.0 / rate
                     : source_options_.nemo_mel ? static_cast<double>(source_options_.nemo.hop_length) / rate
                                                : 0.01;
  in.audio_seconds = static_cast<double>(b.src_frames) * in.frame_seconds;
  return in;
}

std::string SpeechToTextTask::detokenize(const std::vector<int64_t>& ids) const {
  const Dictionary& d = vocab_.tgt_dict;
  const bool tag = vocab_.config.prepend_tgt_lang_tag;
  std::vector<int64_t> kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == d.eos() || ids[i] == d.pad()) continue;
    if (tag && i == 0) continue;
    kept.push_back(ids[i]);
  }
  return vocab_.decode(kept, false);
}

TaskTraits SpeechToTextTask::traits() const {
  TaskTraits t;
  t.target_lang_tag = vocab_.config.prepend_tgt_lang_tag;
  return t;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::task_registry(), "speech_to_text", trellis::SpeechToTextTask,
                 trellis::SpeechToTextOptions,
                 "speech -> text (fairseq's speech_to_text): features or audio, target dictionary");
