#include "tasks/masked_token_prediction.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/data/audio_reader.h"
#include "core/data/fbank.h"
#include "core/data/nemo_manifest.h"
#include "core/data/nemo_mel.h"
#include "core/data/noise_augment.h"
#include "core/error.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/masked_token_model.h"
#include "core/interfaces/model.h"
#include "core/logging.h"
#include "core/strings.h"
#include "tasks/speech_dataset.h"
#include "tasks/task_helpers.h"

namespace trellis {

namespace {

const log::Logger logger("trellis.task");

// The front end of clean and noisy audio. samples: (N) at 16 kHz -> (T, bins) row-major.
// dither: the signal's own generator in training, null otherwise.
std::vector<float> compute_features(const std::vector<float>& samples,
                                    const MaskedTokenPredictionOptions& o,
                                    std::mt19937_64* dither, int64_t* frames) {
  if (o.front_end == "nemo_mel") {
    NemoMelOptions m;
    m.sample_rate = MaskedTokenPredictionTask::kSampleRate;
    m.n_mels = static_cast<int>(o.num_mel_bins);
    m.dither = o.dither;
    m.pad_to = static_cast<int>(o.pad_to);
    return nemo_mel_features(samples, m, dither, frames);
  }
  // kaldi_fbank: no dither (fairseq's on-the-fly fbank has none).
  Audio a;
  a.samples = samples;
  a.sample_rate = MaskedTokenPredictionTask::kSampleRate;
  std::vector<float> x = compute_fbank_features(a, static_cast<int>(o.num_mel_bins), frames);
  TRELLIS_CHECK(*frames > 0, DataError, "audio too short for one feature frame ({} samples)",
                samples.size());
  normalize_per_feature(x.data(), *frames, o.num_mel_bins, x.data());
  return x;
}

// The noise files of --noise-manifest: a comma list of NeMo JSON manifests (audio_filepath of
// every line), audio files, folders and lists (what AudioPool reads).
std::shared_ptr<const AudioPool> open_noise(const std::string& sources) {
  if (sources.empty()) return nullptr;
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  for (const std::string& source : split_commas(sources)) {
    const fs::path p(source);
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (fs::is_regular_file(p) && ext == ".json") {
      for (const NemoEntry& e : read_nemo_manifest(source)) paths.push_back(e.audio_filepath);
    } else if (fs::is_regular_file(p) && (ext == ".wav" || ext == ".flac" || ext == ".ogg" ||
                                          ext == ".mp3" || ext == ".sph")) {
      paths.push_back(source);
    } else {
      const AudioPool listed(source);
      for (size_t i = 0; i < listed.size(); ++i) paths.push_back(listed.path(i));
    }
  }
  TRELLIS_CHECK(!paths.empty(), DataError, "--noise-manifest {}: no noise files", sources);
  return std::make_shared<const AudioPool>(std::move(paths));
}

// (B, T, F) float from per-row (T_b, F) features, zero-padded.
at::Tensor stack_padded(const std::vector<std::vector<float>>& rows,
                        const std::vector<int64_t>& frames, int64_t T, int64_t F) {
  const auto B = static_cast<int64_t>(rows.size());
  at::Tensor out = torch::zeros({B, T, F}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(p + b * T * F, rows[static_cast<size_t>(b)].data(),
                static_cast<size_t>(frames[static_cast<size_t>(b)] * F) * sizeof(float));
  return out;
}

}  // namespace

void MaskedTokenPredictionOptions::validate() const {
  TRELLIS_CHECK(num_mel_bins > 0, ConfigError, "--num-mel-bins must be positive, got {}",
                num_mel_bins);
  TRELLIS_CHECK(min_audio_seconds >= 0, ConfigError,
                "--min-audio-seconds must be non-negative, got {}", min_audio_seconds);
  TRELLIS_CHECK(pad_to >= 1, ConfigError, "--pad-to must be at least 1, got {}", pad_to);
  TRELLIS_CHECK(dither >= 0, ConfigError, "--dither must be non-negative, got {}", dither);
  parse_batching_style(batching_style);
  mix.validate();
}

MaskedTokenPredictionTask::MaskedTokenPredictionTask(const MaskedTokenPredictionOptions& options,
                                                     const TaskContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
  for (const auto& [key, value] : task_state()) {
    auto it = ctx.restored_state.find(key);
    TRELLIS_CHECK(it == ctx.restored_state.end() || it->second == value, ConfigError,
                  "the checkpoint's task was built with {} = {}, this run asks for {}", key,
                  it == ctx.restored_state.end() ? "" : it->second, value);
  }
  noise_ = open_noise(options_.noise_manifest);
  if (noise_) logger.info("noise for mixing: {} files ({})", noise_->size(),
                          options_.noise_manifest);
}

MaskedTokenPredictionTask::~MaskedTokenPredictionTask() = default;

void MaskedTokenPredictionTask::load_dataset(const std::string& split, bool is_train) {
  const auto min_samples =
      static_cast<int64_t>(std::ceil(options_.min_audio_seconds * kSampleRate));
  auto d = std::make_unique<UnlabeledDataset>(
      load_unlabeled_dataset(ctx_.data_root, split, is_train, kSampleRate, min_samples, kHop));
  std::string kinds;
  for (const auto& p : d->parts) kinds += (kinds.empty() ? "" : ", ") + p.path + " (" + p.kind + ")";
  logger.info("{}: {} samples from {}", split, d->size(), kinds);
  datasets_[split] = std::move(d);
}

const UnlabeledDataset& MaskedTokenPredictionTask::dataset(const std::string& split) const {
  auto it = datasets_.find(split);
  TRELLIS_CHECK(it != datasets_.end(), DataError, "split '{}' was not loaded (load_dataset)",
                split);
  return *it->second;
}

int64_t MaskedTokenPredictionTask::dataset_size(const std::string& split) const {
  return dataset(split).size();
}

const std::vector<int64_t>& MaskedTokenPredictionTask::source_sizes(
    const std::string& split) const {
  return dataset(split).n_frames;
}

Batches MaskedTokenPredictionTask::batches(const std::string& split,
                                           const BatchRequest& request) {
  const UnlabeledDataset& d = dataset(split);
  BatchingOptions bo;
  bo.max_tokens = request.max_tokens;
  bo.batch_size = request.batch_size;
  bo.required_batch_size_multiple = request.required_batch_size_multiple;
  bo.style = parse_batching_style(options_.batching_style);
  int64_t max_src = min_limit(options_.max_source_positions, request.max_source_positions);
  if (d.is_train) max_src = min_limit(max_src, request.max_tokens);
  const auto num_parts = static_cast<int64_t>(d.parts.size());
  std::vector<int64_t> order = ordered_indices(d.n_frames, bo.style, num_parts);
  std::vector<int64_t> dropped;
  std::vector<int64_t> kept =
      filter_by_size(order, d.n_frames, {}, max_src, 0,
                     d.is_train || request.skip_invalid_size_inputs, &dropped, d.ids);
  if (!dropped.empty())
    logger.warn("{}: {} samples longer than {} frames are skipped (first: '{}')", split,
                dropped.size(), max_src, d.ids[static_cast<size_t>(dropped.front())]);
  return batch_by_size(kept, d.n_frames, bo);
}

BatchPtr MaskedTokenPredictionTask::collate(const std::string& split, const Batch& batch,
                                            uint64_t seed) const {
  return std::make_shared<const MaskedTokenBatch>(collate_ssl(split, batch, seed));
}

MaskedTokenBatch MaskedTokenPredictionTask::collate_ssl(const std::string& split,
                                                        const Batch& batch, uint64_t seed) const {
  const UnlabeledDataset& d = dataset(split);
  const auto min_samples =
      static_cast<size_t>(std::ceil(options_.min_audio_seconds * kSampleRate));
  struct Item {
    int64_t index;
    std::vector<float> audio;
  };
  std::vector<Item> items;
  for (int64_t idx : batch) {
    TRELLIS_CHECK(idx >= 0 && idx < d.size(), Error,
                  "collate: sample index {} out of range (split '{}' has {})", idx, split,
                  d.size());
    Item it{idx, {}};
    try {
      it.audio = read_unlabeled_audio(d.entry(idx), kSampleRate);
      TRELLIS_CHECK(!it.audio.empty(), DataError, "no audio samples");
    } catch (const std::exception& e) {
      const std::string msg = fmt::format("{}: {}", d.where(idx), e.what());
      if (!options_.skip_invalid_audio) throw DataError(msg);
      logger.warn("skipping an unreadable sample ({} so far, --skip-invalid-audio): {}",
                  ++skipped_, msg);
      continue;
    }
    // NeMo's repeat padding of audio shorter than the minimum.
    const size_t n = it.audio.size();
    for (size_t t = n; t < min_samples; ++t) it.audio.push_back(it.audio[t % n]);
    items.push_back(std::move(it));
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.audio.size() != b.audio.size() ? a.audio.size() > b.audio.size() : a.index < b.index;
  });

  MaskedTokenBatch out;
  const auto B = static_cast<int64_t>(items.size());
  if (B == 0) return out;
  // The batch's generator: (seed, its samples in row order).
  uint64_t h = splitmix64(seed);
  for (const Item& it : items) h = splitmix64(h ^ static_cast<uint64_t>(it.index));
  std::mt19937_64 mix_rng(h);
  out.seed = splitmix64(h ^ 0x6D61736B73ULL);

  std::vector<std::vector<float>> clean_audio(static_cast<size_t>(B)), noisy_audio;
  for (int64_t b = 0; b < B; ++b) clean_audio[static_cast<size_t>(b)] = std::move(items[static_cast<size_t>(b)].audio);
  if (d.is_train || options_.mix_valid) {
    std::vector<UtteranceMix> mixes = mix_speech_noise(clean_audio, options_.mix, noise_.get(),
                                                       kSampleRate, mix_rng, noisy_audio);
    for (const UtteranceMix& m : mixes) out.mixed += m.scale > 0 ? 1 : 0;
  } else {
    noisy_audio = clean_audio;
  }

  const int64_t F = options_.num_mel_bins;
  std::vector<std::vector<float>> clean(static_cast<size_t>(B)), noisy(static_cast<size_t>(B));
  std::vector<int64_t> frames(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto i = static_cast<size_t>(b);
    const uint64_t sample_seed = splitmix64(h ^ splitmix64(static_cast<uint64_t>(items[i].index)));
    std::mt19937_64 dither_clean(sample_seed ^ 1), dither_noisy(sample_seed ^ 2);
    int64_t tc = 0, tn = 0;
    try {
      clean[i] = compute_features(clean_audio[i], options_, d.is_train ? &dither_clean : nullptr,
                                  &tc);
      noisy[i] = compute_features(noisy_audio[i], options_, d.is_train ? &dither_noisy : nullptr,
                                  &tn);
    } catch (const std::exception& e) {
      throw DataError(fmt::format("{}: {}", d.where(items[i].index), e.what()));
    }
    TRELLIS_CHECK(tc == tn, Error, "clean and noisy features differ in length ({} vs {})", tc, tn);
    frames[i] = tc;
  }
  int64_t T = *std::max_element(frames.begin(), frames.end());
  T = (T + options_.pad_to - 1) / options_.pad_to * options_.pad_to;
  out.clean = stack_padded(clean, frames, T, F);
  out.noisy = stack_padded(noisy, frames, T, F);
  out.lengths = torch::from_blob(frames.data(), {B}, torch::kInt64).clone();
  for (int64_t b = 0; b < B; ++b) {
    out.indices.push_back(items[static_cast<size_t>(b)].index);
    out.ids.push_back(d.ids[static_cast<size_t>(items[static_cast<size_t>(b)].index)]);
    out.src_frames += frames[static_cast<size_t>(b)];
  }
  out.ntokens = out.src_frames;
  out.padded_frames = B * T;
  return out;
}

std::unique_ptr<Model> MaskedTokenPredictionTask::build_model(const std::string& arch,
                                                              const AnyOptions& arch_options) {
  ModelContext m;
  m.input_feat_per_channel = options_.num_mel_bins;
  m.input_channels = 1;
  std::unique_ptr<Model> model =
      model_registry().create(arch_registry().info(arch).target, arch_options, m);
  TRELLIS_CHECK(dynamic_cast<MaskedTokenModel*>(model.get()) != nullptr, ConfigError,
                "--arch {} does not predict masked tokens; use an arch of the nest model", arch);
  arch_ = arch;
  return model;
}

std::unique_ptr<Criterion> MaskedTokenPredictionTask::build_criterion(const std::string& name,
                                                                      const AnyOptions& options,
                                                                      const AnyOptions* underlying,
                                                                      bool sentence_avg) {
  const CriterionNeeds needs = criterion_registry().needs(name, options);
  TRELLIS_CHECK(!needs.source_ctc, ConfigError,
                "--criterion {} needs source transcripts; --task masked_token_prediction has no "
                "text",
                name);
  CriterionContext c;
  c.pad = dictionary_.pad();
  c.eos = dictionary_.eos();
  c.sentence_avg = sentence_avg;
  c.underlying_options = underlying;
  return criterion_registry().create(name, options, c);
}

LossOutput MaskedTokenPredictionTask::forward(Model& model, Criterion& criterion,
                                              const TaskBatch& any_batch) {
  const MaskedTokenBatch& batch = batch_cast<MaskedTokenBatch>(any_batch);
  auto* mtm = dynamic_cast<MaskedTokenModel*>(&model);
  TRELLIS_CHECK(mtm != nullptr, ConfigError,
                "--arch {} does not predict masked tokens; use an arch of the nest model",
                arch_.empty() ? std::string("(the model given)") : arch_);
  auto params = model.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  MaskedTokenInput in;
  in.clean = batch.clean.to(device);
  in.noisy = batch.noisy.to(device);
  in.lengths = batch.lengths.to(device);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(batch.seed);
  MaskedTokenOutput out = mtm->predict_masked(in, generator);
  const int64_t T = batch.clean.size(1);
  TRELLIS_CHECK(out.combine_time_steps >= 1 && T % out.combine_time_steps == 0, ConfigError,
                "the model combines {} frames per position but the batch has {} frames: set "
                "--pad-to to a multiple of {}",
                out.combine_time_steps, T, out.combine_time_steps);
  NetOutput net;
  net.outputs["log_probs"] = out.log_probs;
  net.outputs["targets"] = out.targets;
  net.outputs["frame_masks"] = out.frame_masks;
  net.outputs["lengths"] = out.lengths;
  net.combine_time_steps = out.combine_time_steps;
  CriterionTargets t;
  t.ntokens = batch.ntokens;
  t.nsentences = batch.size();
  return criterion.forward(net, t);
}

std::map<std::string, std::string> MaskedTokenPredictionTask::task_state() const {
  return {{"ssl_front_end", options_.front_end},
          {"ssl_num_mel_bins", std::to_string(options_.num_mel_bins)}};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::task_registry(), "masked_token_prediction",
                 trellis::MaskedTokenPredictionTask, trellis::MaskedTokenPredictionOptions,
                 "self-supervised pretraining on unlabelled audio: masked token prediction on "
                 "speech/noise-mixed input (NeMo's NEST data side)");
