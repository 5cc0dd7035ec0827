#include "core/data/data_config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include "core/error.h"
#include "core/strings.h"

namespace trellis {

namespace {

// Known keys that are not members (DataConfig::visit() lists those): the transform lists,
// transform parameter blocks and fairseq keys trellis accepts and ignores.
const std::set<std::string> kOtherKeys = {
    "transforms",     "feature_transforms", "waveform_transforms",  "dataset_transforms",
    "raw_transforms", "specaugment",        "utterance_cmvn",       "global_cmvn",
    "delta_deltas",   "eos_token",          "speaker_set_filename", "vocoder",
    "hub",            "nemo_mel"};

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

// Reads the value of `name` into its member when `name` is the key looked for.
struct KeyReader {
  const std::string& want;
  const YAML::Node& node;
  const std::string& path;
  bool found = false;

  template <class T>
  void key(const char* name, T& member, bool /*write*/) {
    if (found || want != name) return;
    found = true;
    if constexpr (std::is_same_v<T, TokenizerConfig>)
      member = read_tokenizer(node, want, path);
    else if constexpr (std::is_same_v<T, std::string>)
      member = node.IsNull() ? "" : scalar<std::string>(node, want, path);
    else
      member = scalar<T>(node, want, path);
  }
  void tokenizer_name(const char* name, std::string& member, bool /*write*/) {
    if (found || want != name) return;
    found = true;
    if (node.IsMap() && node["tokenizer"] && !node["tokenizer"].IsNull())
      member = scalar<std::string>(node["tokenizer"], want, path);
    if (member == "None") member.clear();
  }
};

struct KeyNames {
  std::vector<std::string> names;
  template <class T>
  void key(const char* name, const T&, bool) { names.emplace_back(name); }
  void tokenizer_name(const char* name, const std::string&, bool) { names.emplace_back(name); }
};

struct KeyWriter {
  YAML::Emitter& out;
  template <class T>
  void key(const char* name, const T& value, bool write) {
    if (!write) return;
    out << YAML::Key << name << YAML::Value;
    if constexpr (std::is_same_v<T, TokenizerConfig>)
      out << YAML::Flow << write_tokenizer(value);
    else
      out << value;
  }
  void tokenizer_name(const char* name, const std::string& value, bool write) {
    if (!write) return;
    YAML::Node n(YAML::NodeType::Map);
    n["tokenizer"] = value;
    out << YAML::Key << name << YAML::Value << YAML::Flow << n;
  }
};

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
  try {  // a key that is a list or mapping (`[]: 1`) has no text (found by fuzz_data_config)
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
      const std::string k = kv.first.as<std::string>();
      KeyReader reader{k, kv.second, path};
      DataConfig::visit(c, reader);
      if (reader.found || kOtherKeys.count(k) || transform_names.count(k)) continue;
      KeyNames known;
      DataConfig::visit(c, known);
      known.names.push_back("transforms");
      throw DataError(fmt::format("{}: unknown key '{}' (known: {}, or a transform's name)", path,
                                  k, join(known.names, ", ")));
    }
    TRELLIS_CHECK(c.input_feat_per_channel > 0 && c.input_channels > 0, DataError,
                  "{}: input_feat_per_channel and input_channels must be positive", path);
    TRELLIS_CHECK(!(c.prepend_tgt_lang_tag && c.prepend_bos_and_append_tgt_lang_tag), DataError,
                  "{}: prepend_tgt_lang_tag and prepend_bos_and_append_tgt_lang_tag are mutually "
                  "exclusive",
                  path);
    TRELLIS_CHECK(c.sampling_alpha > 0, DataError, "{}: sampling_alpha must be > 0", path);
    TRELLIS_CHECK(c.front_end == "kaldi_fbank" || c.nemo_mel(), DataError,
                  "{}: front_end '{}': expected kaldi_fbank or nemo_mel", path, c.front_end);
    TRELLIS_CHECK(!(c.nemo_mel() && c.use_audio_input), DataError,
                  "{}: front_end nemo_mel computes features, use_audio_input feeds the waveform: "
                  "set only one",
                  path);
    TRELLIS_CHECK(c.nemo_mel() || !c.root["nemo_mel"], DataError,
                  "{}: a 'nemo_mel' block without front_end: nemo_mel", path);
    if (c.nemo_mel()) c.nemo_mel_options();  // validates the block
    return c;
  } catch (const YAML::Exception& e) {
    throw DataError(fmt::format("{}:{}: a key or value of the wrong kind: {}", path,
                                e.mark.line + 1, e.msg));
  }
}

std::string DataConfig::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  KeyWriter writer{out};
  DataConfig::visit(*this, writer);
  std::set<std::string> names;
  for (const auto& kv : transforms)
    for (const auto& n : kv.second) names.insert(n);
  for (const auto& n : names) {
    YAML::Node p = transform_params(n);
    if (p && !p.IsNull()) out << YAML::Key << n << YAML::Value << YAML::Flow << p;
  }
  if (nemo_mel() && root && root.IsMap() && root["nemo_mel"])
    out << YAML::Key << "nemo_mel" << YAML::Value << YAML::Flow << root["nemo_mel"];
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

NemoMelOptions DataConfig::nemo_mel_options() const {
  NemoMelOptions o;
  o.n_mels = static_cast<int>(input_feat_per_channel);
  o.sample_rate = static_cast<int>(use_sample_rate);
  double window_size = 0.025, window_stride = 0.01;
  const YAML::Node block = root && root.IsMap() ? root["nemo_mel"] : YAML::Node();
  if (block && !block.IsNull()) {
    TRELLIS_CHECK(block.IsMap(), DataError,
                  "{}: 'nemo_mel' must be a mapping like {{dither: 1.0e-5, pad_to: 16}}", path);
    for (const auto& kv : block) {
      const std::string k = kv.first.as<std::string>(), key = "nemo_mel." + k;
      const YAML::Node& v = kv.second;
      if (k == "window_size") window_size = scalar<double>(v, key, path);
      else if (k == "window_stride") window_stride = scalar<double>(v, key, path);
      else if (k == "n_fft") o.n_fft = scalar<int>(v, key, path);
      else if (k == "dither") o.dither = scalar<double>(v, key, path);
      else if (k == "preemph") o.preemph = v.IsNull() ? 0.0 : scalar<double>(v, key, path);
      else if (k == "lowfreq") o.lowfreq = scalar<double>(v, key, path);
      else if (k == "highfreq") o.highfreq = v.IsNull() ? 0.0 : scalar<double>(v, key, path);
      else if (k == "log_zero_guard_value") o.log_zero_guard_value = scalar<double>(v, key, path);
      else if (k == "pad_to") o.pad_to = scalar<int>(v, key, path);
      else if (k == "normalize") {
        const std::string n = v.IsNull() ? "NA" : scalar<std::string>(v, key, path);
        TRELLIS_CHECK(n == "per_feature" || n == "NA" || n == "none", DataError,
                      "{}: {}: '{}' (supported: per_feature, NA)", path, key, n);
        o.normalize_per_feature = n == "per_feature";
      } else if (k == "window") {
        const std::string w = scalar<std::string>(v, key, path);
        TRELLIS_CHECK(w == "hann", DataError, "{}: {}: '{}' (supported: hann)", path, key, w);
      } else if (k == "features" || k == "sample_rate") {
        const int64_t want = k == "features" ? input_feat_per_channel : use_sample_rate;
        TRELLIS_CHECK(scalar<int64_t>(v, key, path) == want, DataError,
                      "{}: {} must equal {} ({})", path, key,
                      k == "features" ? "input_feat_per_channel" : "use_sample_rate", want);
      } else {
        throw DataError(fmt::format(
            "{}: unknown key '{}' (known: window_size, window_stride, n_fft, window, dither, "
            "preemph, lowfreq, highfreq, log_zero_guard_value, normalize, pad_to, features, "
            "sample_rate)",
            path, key));
      }
    }
  }
  // NeMo: n_window_size = int(window_size * sample_rate), likewise the stride.
  o.win_length = static_cast<int>(window_size * o.sample_rate);
  o.hop_length = static_cast<int>(window_stride * o.sample_rate);
  try {
    validate(o);
  } catch (const ConfigError& e) {
    throw DataError(fmt::format("{}: {}", path, e.what()));
  }
  return o;
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
