#include "core/data/data_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace trellis {

namespace {

// Keys this reader knows; transform parameter blocks are accepted separately.
const std::set<std::string> kKeys = {"vocab_filename",
                                     "vocab_filename_src",
                                     "bpe_tokenizer",
                                     "bpe_tokenizer_src",
                                     "pre_tokenizer",
                                     "input_feat_per_channel",
                                     "input_channels",
                                     "use_audio_input",
                                     "standardize_audio",
                                     "use_sample_rate",
                                     "sample_rate",
                                     "is_input_waveform",
                                     "waveform_sample_rate",
                                     "prepend_tgt_lang_tag",
                                     "prepend_bos_and_append_tgt_lang_tag",
                                     "sampling_alpha",
                                     "shuffle",
                                     "audio_root",
                                     "transforms",
                                     "feature_transforms",
                                     "waveform_transforms",
                                     "dataset_transforms",
                                     "raw_transforms",
                                     "specaugment",
                                     "utterance_cmvn",
                                     "global_cmvn",
                                     "delta_deltas",
                                     "speaker_set_filename",
                                     "eos_token",
                                     "vocoder",
                                     "hub"};

template <class T>
T scalar(const YAML::Node& n, const std::string& key, const std::string& path) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw DataError(fmt::format("{}: key '{}': cannot read value '{}' as {}", path, key,
                                YAML::Dump(n),
                                std::is_same_v<T, bool>          ? "a boolean"
                                : std::is_same_v<T, std::string> ? "a string"
                                                                 : "a number"));
  }
}

TokenizerConfig read_tokenizer(const YAML::Node& n, const std::string& key,
                               const std::string& path) {
  TokenizerConfig t;
  if (n.IsNull()) return t;
  TRELLIS_CHECK(n.IsMap(), DataError,
                "{}: key '{}' must be a mapping like {{bpe: sentencepiece, "
                "sentencepiece_model: spm.model}}",
                path, key);
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    std::string v = kv.second.IsNull() ? "" : scalar<std::string>(kv.second, key + "." + k, path);
    if (k == "bpe")
      t.bpe = v == "None" ? "" : v;
    else if (k == "sentencepiece_model")
      t.sentencepiece_model = v;
    else
      t.params[k] = v;
  }
  return t;
}

YAML::Node write_tokenizer(const TokenizerConfig& t) {
  YAML::Node n(YAML::NodeType::Map);
  n["bpe"] = t.enabled() ? t.bpe : std::string("None");
  if (!t.sentencepiece_model.empty()) n["sentencepiece_model"] = t.sentencepiece_model;
  for (const auto& kv : t.params) n[kv.first] = kv.second;
  return n;
}

}  // namespace

DataConfig DataConfig::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open data config", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

DataConfig DataConfig::parse(const std::string& text, const std::string& path) {
  DataConfig c;
  c.path = path;
  try {
    c.root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw DataError(fmt::format("{}:{}: malformed YAML: {}", path, e.mark.line + 1, e.msg));
  }
  if (c.root.IsNull()) return c;
  TRELLIS_CHECK(c.root.IsMap(), DataError, "{}: the data config must be a YAML mapping", path);
  // Transform names used in any list may carry a parameter block.
  std::set<std::string> transform_names;
  for (const char* tk : {"transforms", "feature_transforms", "waveform_transforms"}) {
    const YAML::Node t = c.root[tk];
    if (!t) continue;
    TRELLIS_CHECK(t.IsMap(), DataError, "{}: '{}' must map split names to lists", path, tk);
    for (const auto& kv : t) {
      std::string split = kv.first.as<std::string>();
      TRELLIS_CHECK(kv.second.IsSequence() || kv.second.IsNull(), DataError,
                    "{}: {}['{}'] must be a list of transform names", path, tk, split);
      std::vector<std::string> names;
      for (const auto& x : kv.second) {
        names.push_back(scalar<std::string>(x, std::string(tk) + "." + split, path));
        transform_names.insert(names.back());
      }
      if (std::string(tk) != "waveform_transforms") {
        auto& dst = c.transforms[split];
        dst.insert(dst.end(), names.begin(), names.end());
      }
    }
  }
  for (const auto& kv : c.root) {
    std::string k = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (!kKeys.count(k) && !transform_names.count(k)) {
      throw DataError(fmt::format(
          "{}: unknown key '{}' (known: vocab_filename, vocab_filename_src, bpe_tokenizer, "
          "bpe_tokenizer_src, input_feat_per_channel, input_channels, transforms, "
          "prepend_tgt_lang_tag, sampling_alpha, audio_root, use_audio_input, ...)",
          path, k));
    }
    if (k == "vocab_filename")
      c.vocab_filename = scalar<std::string>(v, k, path);
    else if (k == "vocab_filename_src")
      c.vocab_filename_src = scalar<std::string>(v, k, path);
    else if (k == "bpe_tokenizer")
      c.bpe_tokenizer = read_tokenizer(v, k, path);
    else if (k == "bpe_tokenizer_src")
      c.bpe_tokenizer_src = read_tokenizer(v, k, path);
    else if (k == "pre_tokenizer") {
      if (v.IsMap() && v["tokenizer"] && !v["tokenizer"].IsNull())
        c.pre_tokenizer = scalar<std::string>(v["tokenizer"], k, path);
      if (c.pre_tokenizer == "None") c.pre_tokenizer.clear();
    } else if (k == "input_feat_per_channel")
      c.input_feat_per_channel = scalar<int64_t>(v, k, path);
    else if (k == "input_channels")
      c.input_channels = scalar<int64_t>(v, k, path);
    else if (k == "use_audio_input")
      c.use_audio_input = scalar<bool>(v, k, path);
    else if (k == "standardize_audio")
      c.standardize_audio = scalar<bool>(v, k, path);
    else if (k == "use_sample_rate" || k == "sample_rate")
      c.use_sample_rate = scalar<int64_t>(v, k, path);
    else if (k == "is_input_waveform")
      c.is_input_waveform = scalar<bool>(v, k, path);
    else if (k == "waveform_sample_rate")
      c.waveform_sample_rate = scalar<int64_t>(v, k, path);
    else if (k == "prepend_tgt_lang_tag")
      c.prepend_tgt_lang_tag = scalar<bool>(v, k, path);
    else if (k == "prepend_bos_and_append_tgt_lang_tag")
      c.prepend_bos_and_append_tgt_lang_tag = scalar<bool>(v, k, path);
    else if (k == "sampling_alpha")
      c.sampling_alpha = scalar<double>(v, k, path);
    else if (k == "shuffle")
      c.shuffle = scalar<bool>(v, k, path);
    else if (k == "audio_root")
      c.audio_root = v.IsNull() ? "" : scalar<std::string>(v, k, path);
  }
  TRELLIS_CHECK(c.input_feat_per_channel > 0 && c.input_channels > 0, DataError,
                "{}: input_feat_per_channel and input_channels must be positive", path);
  TRELLIS_CHECK(!(c.prepend_tgt_lang_tag && c.prepend_bos_and_append_tgt_lang_tag), DataError,
                "{}: prepend_tgt_lang_tag and prepend_bos_and_append_tgt_lang_tag are mutually "
                "exclusive",
                path);
  TRELLIS_CHECK(c.sampling_alpha > 0, DataError, "{}: sampling_alpha must be > 0", path);
  return c;
}

std::string DataConfig::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (!audio_root.empty()) out << YAML::Key << "audio_root" << YAML::Value << audio_root;
  out << YAML::Key << "vocab_filename" << YAML::Value << vocab_filename;
  if (vocab_filename_src != "dict.txt" || bpe_tokenizer_src.enabled())
    out << YAML::Key << "vocab_filename_src" << YAML::Value << vocab_filename_src;
  out << YAML::Key << "bpe_tokenizer" << YAML::Value << YAML::Flow
      << write_tokenizer(bpe_tokenizer);
  if (bpe_tokenizer_src.enabled())
    out << YAML::Key << "bpe_tokenizer_src" << YAML::Value << YAML::Flow
        << write_tokenizer(bpe_tokenizer_src);
  out << YAML::Key << "input_channels" << YAML::Value << input_channels;
  out << YAML::Key << "input_feat_per_channel" << YAML::Value << input_feat_per_channel;
  if (use_audio_input) {
    out << YAML::Key << "use_audio_input" << YAML::Value << true;
    out << YAML::Key << "use_sample_rate" << YAML::Value << use_sample_rate;
    if (standardize_audio) out << YAML::Key << "standardize_audio" << YAML::Value << true;
  }
  if (prepend_tgt_lang_tag) out << YAML::Key << "prepend_tgt_lang_tag" << YAML::Value << true;
  out << YAML::Key << "sampling_alpha" << YAML::Value << sampling_alpha;
  std::set<std::string> names;
  for (const auto& kv : transforms)
    for (const auto& n : kv.second) names.insert(n);
  for (const auto& n : names) {
    YAML::Node p = transform_params(n);
    if (p && !p.IsNull()) out << YAML::Key << n << YAML::Value << YAML::Flow << p;
  }
  if (!transforms.empty()) {
    out << YAML::Key << "transforms" << YAML::Value << YAML::BeginMap;
    for (const auto& kv : transforms)
      out << YAML::Key << kv.first << YAML::Value << YAML::Flow << kv.second;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

void DataConfig::save(const std::string& out_path) const {
  std::ofstream out(out_path, std::ios::binary);
  TRELLIS_CHECK(out.good(), DataError, "{}: cannot write data config", out_path);
  out << to_yaml();
  TRELLIS_CHECK(out.good(), DataError, "{}: write failed", out_path);
}

std::vector<std::string> DataConfig::transforms_for_split(const std::string& split,
                                                          bool is_train) const {
  for (const std::string& key :
       {split, std::string(is_train ? "_train" : "_eval"), std::string("*")}) {
    auto it = transforms.find(key);
    if (it != transforms.end()) return it->second;
  }
  return {};
}

YAML::Node DataConfig::transform_params(const std::string& name) const {
  if (root && root.IsMap() && root[name]) return YAML::Clone(root[name]);
  return YAML::Node();
}

std::string DataConfig::vocab_path(const std::string& data_root, bool source) const {
  const std::string& v = source ? vocab_filename_src : vocab_filename;
  if (v.empty() || data_root.empty()) return v;
  return (std::filesystem::path(data_root) / v).string();
}

}  // namespace trellis
