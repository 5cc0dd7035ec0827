#include "tasks/speech_dataset.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/data/manifest.h"
#include "core/data/temperature_sampling.h"
#include "core/error.h"
#include "core/strings.h"
#include "core/logging.h"
#include "tasks/speech_vocab.h"

namespace trellis {

namespace fs = std::filesystem;

std::vector<std::string> split_names(const std::string& split) {
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    size_t comma = split.find(',', start);
    std::string name = split.substr(start, comma == std::string::npos ? comma : comma - start);
    TRELLIS_CHECK(!name.empty(), ConfigError, "split list '{}': empty split name", split);
    names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

std::string SpeechDataset::where(int64_t index) const {
  const SpeechSample& s = samples.at(static_cast<size_t>(index));
  return fmt::format("{}:{}: sample '{}'", parts.at(static_cast<size_t>(s.part)).manifest_path,
                     s.line, ids.at(static_cast<size_t>(index)));
}

namespace {

std::vector<int32_t> narrow(const std::vector<int64_t>& ids) {
  std::vector<int32_t> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    TRELLIS_CHECK(ids[i] <= std::numeric_limits<int32_t>::max(), DataError,
                  "token index {} does not fit 32 bits", ids[i]);
    out[i] = static_cast<int32_t>(ids[i]);
  }
  return out;
}

}  // namespace

std::unique_ptr<SpeechDataset> load_speech_dataset(
    const std::string& data_root, const std::string& split, bool is_train,
    const SpeechVocab& vocab, bool source_side,
    const std::optional<std::string>& waveform_override) {
  auto d = std::make_unique<SpeechDataset>();
  d->split = split;
  d->is_train = is_train;
  const DataConfig& cfg = vocab.config;
  // --waveform-transforms: the config with its training list replaced (the options stay).
  YAML::Node waveform_root = cfg.root;
  if (waveform_override && is_train) {
    waveform_root = YAML::Clone(cfg.root);
    YAML::Node list(YAML::NodeType::Sequence);
    for (const std::string& name : split_commas(*waveform_override)) list.push_back(name);
    YAML::Node table(YAML::NodeType::Map);
    table["_train"] = list;
    waveform_root["waveform_transforms"] = table;
  }
  const Dictionary& tgt = vocab.tgt_dict;
  for (const std::string& name : split_names(split)) {
    SpeechDatasetPart part;
    part.name = name;
    part.manifest_path = (fs::path(data_root) / (name + ".tsv")).string();
    TRELLIS_CHECK(fs::is_regular_file(part.manifest_path), DataError,
                  "dataset not found: {} (split '{}')", part.manifest_path, name);
    Manifest m = read_tsv_manifest(part.manifest_path);
    TRELLIS_CHECK(!m.rows.empty(), DataError, "{}: the manifest has no samples",
                  part.manifest_path);
    part.begin = d->size();
    const auto part_index = static_cast<int32_t>(d->parts.size());
    for (ManifestRow& row : m.rows) {
      auto where = [&] {
        return fmt::format("{}:{}: sample '{}'", part.manifest_path, row.line, row.id);
      };
      SpeechSample s;
      s.audio = std::move(row.audio);
      s.line = row.line;
      s.part = part_index;
      std::vector<int64_t> pieces = vocab.encode(row.tgt_text, false);
      if (cfg.prepend_tgt_lang_tag) {
        const std::string tag = Dictionary::lang_tag(row.tgt_lang);
        TRELLIS_CHECK(tgt.contains(tag), DataError,
                      "{}: target language tag {} (tgt_lang '{}') is not in the target "
                      "dictionary (prepend_tgt_lang_tag is set)",
                      where(), tag, row.tgt_lang);
        s.target.push_back(static_cast<int32_t>(tgt.index(tag)));
      }
      std::vector<int32_t> body = narrow(pieces);
      s.target.insert(s.target.end(), body.begin(), body.end());
      s.target.push_back(static_cast<int32_t>(tgt.eos()));
      if (source_side) {
        s.transcript = narrow(vocab.encode(row.src_text, true));
        s.transcript.push_back(static_cast<int32_t>(vocab.src_dict->eos()));
      }
      const std::string pair = row.src_lang + "->" + row.tgt_lang;
      if (std::find(part.lang_pairs.begin(), part.lang_pairs.end(), pair) ==
          part.lang_pairs.end())
        part.lang_pairs.push_back(pair);
      part.manifest_frames += row.n_frames;
      d->ids.push_back(std::move(row.id));
      d->n_frames.push_back(row.n_frames);
      d->n_tgt_tokens.push_back(static_cast<int64_t>(pieces.size()));
      d->samples.push_back(std::move(s));
    }
    part.end = d->size();
    part.transforms = build_transforms(cfg.root, name, cfg.path, is_train);
    part.waveform_transforms =
        build_waveform_transforms(waveform_root, name, cfg.path, is_train);
    // Frames or samples scale alike with the audio's length.
    for (int64_t i = part.begin; i < part.end; ++i) {
      auto& n = d->n_frames[static_cast<size_t>(i)];
      n = max_transformed_length(part.waveform_transforms, n);
    }
    d->parts.push_back(std::move(part));
  }
  return d;
}

Batches batch_speech_dataset(const SpeechDataset& d, int64_t max_source, int64_t max_target,
                             bool skip_invalid, const BatchingOptions& options,
                             const std::vector<int64_t>* subset) {
  const auto num_parts = static_cast<int64_t>(d.parts.size());
  // The samples to batch, by position: the dataset itself, or the subset's picks.
  std::vector<int64_t> n_frames = d.n_frames, n_tgt = d.n_tgt_tokens;
  std::vector<std::string> ids;
  if (subset) {
    n_frames.clear(), n_tgt.clear();
    for (int64_t i : *subset) {
      n_frames.push_back(d.n_frames.at(static_cast<size_t>(i)));
      n_tgt.push_back(d.n_tgt_tokens[static_cast<size_t>(i)]);
      ids.push_back(d.ids[static_cast<size_t>(i)]);
    }
  }
  const std::vector<std::string>& names = subset ? ids : d.ids;
  std::vector<int64_t> order =
      options.tie_shuffle_seed && options.style == BatchingStyle::kUpstream && num_parts == 1
          ? shuffled_tie_order(n_frames, *options.tie_shuffle_seed)
          : ordered_indices(n_frames, options.style, num_parts);
  std::vector<int64_t> dropped;
  std::vector<int64_t> kept = filter_by_size(order, n_frames, n_tgt, max_source, max_target,
                                             skip_invalid, &dropped, names);
  if (!dropped.empty()) {
    static const log::Logger logger("trellis.task");
    std::string first;
    for (size_t i = 0; i < std::min<size_t>(dropped.size(), 10); ++i)
      first += (i ? ", " : "") + names[static_cast<size_t>(dropped[i])];
    logger.warn(
        "{}: {} samples have invalid sizes and will be skipped, max_positions=({}, {}), "
        "first few sample ids=[{}]",
        d.split, dropped.size(), max_source, max_target, first);
  }
  // num_tokens: FBK's ConcatDataset (and upstream's for several splits) takes max(size).
  std::vector<int64_t> num_tokens = n_frames;
  if (options.style == BatchingStyle::kFbk || num_parts > 1) {
    for (size_t i = 0; i < num_tokens.size(); ++i)
      num_tokens[i] = std::max(num_tokens[i], n_tgt[i]);
  }
  Batches batches = batch_by_size(kept, num_tokens, options);
  if (subset) {
    for (Batch& b : batches)
      for (auto& i : b) i = (*subset)[static_cast<size_t>(i)];
  }
  return batches;
}

std::vector<double> resampling_ratios(const SpeechDataset& d, double alpha) {
  std::vector<std::string> pairs;
  std::vector<int64_t> frames;
  for (const SpeechDatasetPart& part : d.parts) {
    TRELLIS_CHECK(part.lang_pairs.size() == 1, DataError,
                  "{}: temperature resampling (sampling_alpha {}) needs one src_lang->tgt_lang "
                  "pair per split, found {}: {}",
                  part.manifest_path, alpha, part.lang_pairs.size(), join(part.lang_pairs, ", "));
    pairs.push_back(part.lang_pairs.front());
    frames.push_back(part.manifest_frames);
  }
  std::vector<double> ratios = temperature_size_ratios(pairs, frames, alpha);
  static const log::Logger logger("trellis.task");
  std::string shown;
  for (size_t i = 0; i < ratios.size(); ++i)
    shown += fmt::format("{}{}: {} ({:.3f})", i ? ", " : "", d.parts[i].name, pairs[i], ratios[i]);
  logger.info("{}: temperature resampling, sampling_alpha {}: balanced size ratio per split: {}",
              d.split, alpha, shown);
  return ratios;
}

std::vector<int64_t> resampled_epoch(const SpeechDataset& d, const std::vector<double>& ratios,
                                     int64_t seed, int64_t epoch) {
  TRELLIS_CHECK(ratios.size() == d.parts.size(), ConfigError,
                "{}: {} resampling ratios for {} splits", d.split, ratios.size(), d.parts.size());
  std::vector<int64_t> out;
  for (size_t p = 0; p < ratios.size(); ++p) {
    const SpeechDatasetPart& part = d.parts[p];
    for (int64_t i : resample_indices(part.end - part.begin, ratios[p], seed, epoch))
      out.push_back(part.begin + i);
  }
  return out;
}

}  // namespace trellis
