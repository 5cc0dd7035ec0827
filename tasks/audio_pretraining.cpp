#include "tasks/audio_pretraining.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/error.h"
#include "core/interfaces/contrastive_model.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/logging.h"
#include "tasks/task_helpers.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.task");

// F.layer_norm(x, x.shape) without affine: (x - mean) / sqrt(var + 1e-5), population variance.
void normalize_utterance(std::vector<float>& x) {
  if (x.empty()) return;
  double mean = 0.0, var = 0.0;
  for (float v : x) mean += v;
  mean /= static_cast<double>(x.size());
  for (float v : x) var += (v - mean) * (v - mean);
  var /= static_cast<double>(x.size());
  const double scale = 1.0 / std::sqrt(var + 1e-5);
  for (float& v : x) v = static_cast<float>((v - mean) * scale);
}

}  // namespace

void AudioPretrainingOptions::validate() const {
  TRELLIS_CHECK(sample_rate > 0, ConfigError, "--sample-rate must be positive, got {}",
                sample_rate);
  TRELLIS_CHECK(max_sample_size >= 0 && min_sample_size >= 0, ConfigError,
                "--max-sample-size {} and --min-sample-size {} must be >= 0", max_sample_size,
                min_sample_size);
  TRELLIS_CHECK(max_sample_size == 0 || min_sample_size <= max_sample_size, ConfigError,
                "--min-sample-size {} exceeds --max-sample-size {}", min_sample_size,
                max_sample_size);
  parse_batching_style(batching_style);
}

AudioPretrainingTask::AudioPretrainingTask(const AudioPretrainingOptions& options,
                                           const TaskContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
  for (const auto& [key, value] : task_state()) {
    auto it = ctx.restored_state.find(key);
    TRELLIS_CHECK(it == ctx.restored_state.end() || it->second == value, ConfigError,
                  "the checkpoint's task was built with {} = {}, this run asks for {}", key,
                  it == ctx.restored_state.end() ? "" : it->second, value);
  }
}

void AudioPretrainingTask::load_dataset(const std::string& split, bool is_train) {
  auto d = std::make_unique<UnlabeledDataset>(load_unlabeled_dataset(
      ctx_.data_root, split, is_train, static_cast<int>(options_.sample_rate), 0, 1));
  std::vector<int64_t> sizes(d->n_frames);
  if (!options_.enable_padding && options_.max_sample_size > 0)
    for (int64_t& s : sizes) s = std::min(s, options_.max_sample_size);
  std::string kinds;
  for (const auto& p : d->parts)
    kinds += (kinds.empty() ? "" : ", ") + p.path + " (" + p.kind + ", sizes from " +
             p.sizes_from + ")";
  logger.info("{}: {} samples from {}", split, d->size(), kinds);
  batch_sizes_[split] = std::move(sizes);
  datasets_[split] = std::move(d);
}

const UnlabeledDataset& AudioPretrainingTask::dataset(const std::string& split) const {
  auto it = datasets_.find(split);
  TRELLIS_CHECK(it != datasets_.end(), DataError, "split '{}' was not loaded (load_dataset)",
                split);
  return *it->second;
}

int64_t AudioPretrainingTask::dataset_size(const std::string& split) const {
  return dataset(split).size();
}

const std::vector<int64_t>& AudioPretrainingTask::source_sizes(const std::string& split) const {
  return dataset(split).n_frames;
}

Batches AudioPretrainingTask::batches(const std::string& split, const BatchRequest& request) {
  const UnlabeledDataset& d = dataset(split);
  const std::vector<int64_t>& sizes = batch_sizes_.at(split);
  BatchingOptions bo;
  bo.max_tokens = request.max_tokens;
  bo.batch_size = request.batch_size;
  bo.required_batch_size_multiple = request.required_batch_size_multiple;
  bo.style = parse_batching_style(options_.batching_style);
  std::vector<int64_t> order =
      ordered_indices(sizes, bo.style, static_cast<int64_t>(d.parts.size()));
  // fairseq's FileAudioDataset drops utterances under --min-sample-size when it loads them.
  std::vector<int64_t> long_enough;
  for (int64_t i : order)
    if (d.n_frames[static_cast<size_t>(i)] >= options_.min_sample_size) long_enough.push_back(i);
  if (long_enough.size() < order.size())
    logger.info("{}: {} samples shorter than --min-sample-size {} are skipped", split,
                order.size() - long_enough.size(), options_.min_sample_size);
  int64_t max_src = request.max_source_positions;
  if (d.is_train) max_src = min_limit(max_src, request.max_tokens);
  std::vector<int64_t> dropped;
  std::vector<int64_t> kept =
      filter_by_size(long_enough, sizes, {}, max_src, 0,
                     d.is_train || request.skip_invalid_size_inputs, &dropped, d.ids);
  if (!dropped.empty())
    logger.warn("{}: {} samples longer than {} samples are skipped (first: '{}')", split,
                dropped.size(), max_src, d.ids[static_cast<size_t>(dropped.front())]);
  return batch_by_size(kept, sizes, bo);
}

BatchPtr AudioPretrainingTask::collate(const std::string& split, const Batch& batch,
                                       uint64_t seed) const {
  return std::make_shared<const AudioPretrainingBatch>(collate_audio(split, batch, seed));
}

AudioPretrainingBatch AudioPretrainingTask::collate_audio(const std::string& split,
                                                          const Batch& batch, uint64_t seed) const {
  const UnlabeledDataset& d = dataset(split);
  std::vector<int64_t> index;
  std::vector<std::vector<float>> audio;
  for (int64_t idx : batch) {
    TRELLIS_CHECK(idx >= 0 && idx < d.size(), Error,
                  "collate: sample index {} out of range (split '{}' has {})", idx, split,
                  d.size());
    std::vector<float> a;
    try {
      a = read_unlabeled_audio(d.entry(idx), static_cast<int>(options_.sample_rate));
      TRELLIS_CHECK(!a.empty(), DataError, "no audio samples");
    } catch (const std::exception& e) {
      const std::string msg = fmt::format("{}: {}", d.where(idx), e.what());
      if (!options_.skip_invalid_audio) throw DataError(msg);
      logger.warn("skipping an unreadable sample ({} so far, --skip-invalid-audio): {}", ++skipped_,
                  msg);
      continue;
    }
    if (options_.normalize) normalize_utterance(a);
    index.push_back(idx);
    audio.push_back(std::move(a));
  }
  AudioPretrainingBatch out;
  const auto B = static_cast<int64_t>(audio.size());
  if (B == 0) return out;
  int64_t shortest = std::numeric_limits<int64_t>::max(), longest = 0;
  for (const auto& a : audio) {
    shortest = std::min(shortest, static_cast<int64_t>(a.size()));
    longest = std::max(longest, static_cast<int64_t>(a.size()));
  }
  int64_t S = options_.enable_padding ? longest : shortest;
  if (options_.max_sample_size > 0) S = std::min(S, options_.max_sample_size);
  uint64_t h = splitmix64(seed);
  for (int64_t i : index) h = splitmix64(h ^ static_cast<uint64_t>(i));
  std::mt19937_64 rng(h);
  out.source = torch::zeros({B, S}, torch::kFloat32);
  std::vector<int64_t> lengths(static_cast<size_t>(B));
  float* p = out.source.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& a = audio[static_cast<size_t>(b)];
    const auto n = static_cast<int64_t>(a.size());
    int64_t start = 0, len = std::min(n, S);
    if (n > S) start = std::uniform_int_distribution<int64_t>(0, n - S)(rng);  // random crop
    std::memcpy(p + b * S, a.data() + start, static_cast<size_t>(len) * sizeof(float));
    lengths[static_cast<size_t>(b)] = len;
    out.indices.push_back(index[static_cast<size_t>(b)]);
    out.ids.push_back(d.ids[static_cast<size_t>(index[static_cast<size_t>(b)])]);
    out.src_frames += len;
  }
  if (options_.enable_padding)
    out.lengths = torch::from_blob(lengths.data(), {B}, torch::kInt64).clone();
  out.ntokens = out.src_frames;
  out.padded_frames = B * S;
  return out;
}

std::unique_ptr<Model> AudioPretrainingTask::build_model(const std::string& arch,
                                                         const AnyOptions& arch_options) {
  ModelContext m;
  m.input_feat_per_channel = 1;
  m.input_channels = 1;
  std::unique_ptr<Model> model =
      model_registry().create(arch_registry().info(arch).target, arch_options, m);
  TRELLIS_CHECK(dynamic_cast<ContrastiveModel*>(model.get()) != nullptr, ConfigError,
                "--arch {} has no contrastive pretraining heads; use a wav2vec 2.0 arch "
                "(wav2vec2_base, wav2vec2_large, ...)",
                arch);
  arch_ = arch;
  return model;
}

std::unique_ptr<Criterion> AudioPretrainingTask::build_criterion(const std::string& name,
                                                                 const AnyOptions& options,
                                                                 const AnyOptions* underlying,
                                                                 bool sentence_avg) {
  const CriterionNeeds needs = criterion_registry().needs(name, options);
  TRELLIS_CHECK(!needs.source_ctc && !needs.ctc && !needs.decoder, ConfigError,
                "--criterion {} needs transcripts or a decoder; --task audio_pretraining has no "
                "text (use the contrastive criterion, --criterion wav2vec)",
                name);
  CriterionContext c;
  c.pad = dictionary_.pad();
  c.eos = dictionary_.eos();
  c.sentence_avg = sentence_avg;
  c.underlying_options = underlying;
  return criterion_registry().create(name, options, c);
}

LossOutput AudioPretrainingTask::forward(Model& model, Criterion& criterion,
                                         const TaskBatch& any_batch) {
  const auto& batch = batch_cast<AudioPretrainingBatch>(any_batch);
  auto* cm = dynamic_cast<ContrastiveModel*>(&model);
  TRELLIS_CHECK(cm != nullptr, ConfigError, "--arch {} has no contrastive pretraining heads",
                arch_.empty() ? std::string("(the model given)") : arch_);
  auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  at::Tensor lengths = batch.lengths.defined() ? batch.lengths.to(device) : at::Tensor();
  NetOutput net;
  net.outputs = cm->contrastive_forward(batch.source.to(device), lengths);
  CriterionTargets t;
  t.ntokens = batch.ntokens;
  t.nsentences = batch.size();
  return criterion.forward(net, t);
}

std::map<std::string, std::string> AudioPretrainingTask::task_state() const {
  return {{"audio_sample_rate", std::to_string(options_.sample_rate)},
          {"audio_normalize", options_.normalize ? "true" : "false"}};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::task_registry(), "audio_pretraining", trellis::AudioPretrainingTask,
                 trellis::AudioPretrainingOptions,
                 "self-supervised pretraining on raw unlabelled audio (fairseq's "
                 "audio_pretraining: random crops, wav2vec 2.0 with --criterion wav2vec)");
