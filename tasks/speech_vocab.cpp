#include "tasks/speech_vocab.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace trellis {

namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open {}", path, what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `bytes` to a fresh temporary file, runs fn(path), removes the file.
template <class F>
auto with_temp_file(const std::string& bytes, F&& fn) {
  std::string tmpl = (fs::temp_directory_path() / "trellis_task_XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  TRELLIS_CHECK(fd >= 0, Error, "cannot create a temporary file in {}",
                fs::temp_directory_path().string());
  ::close(fd);
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove{tmpl};
  {
    std::ofstream out(tmpl, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    TRELLIS_CHECK(out.good(), Error, "{}: write failed", tmpl);
  }
  return fn(tmpl);
}

std::vector<std::pair<std::string, std::string>> params_of(const TokenizerConfig& t) {
  return {t.params.begin(), t.params.end()};
}

// The SentencePiece model file make_bpe() will open: as given when it exists, else relative to
// the data root.
std::string resolve_spm(const TokenizerConfig& t, const std::string& data_root) {
  const std::string& m = t.sentencepiece_model;
  if (m.empty() || fs::exists(m) || fs::path(m).is_absolute() || data_root.empty()) return m;
  return (fs::path(data_root) / m).string();
}

std::unique_ptr<Bpe> bpe_from_files(const TokenizerConfig& t, const std::string& data_root,
                                    std::string* spm_bytes) {
  if (!t.enabled()) return nullptr;
  // A tokenizer model file (sentencepiece_model) is kept in checkpoints, whatever reads it.
  const std::string path = resolve_spm(t, data_root);
  if (!path.empty() && fs::exists(path)) {
    *spm_bytes = read_file(path, "SentencePiece model");
    return make_bpe(t.bpe, path, params_of(t), data_root);
  }
  return make_bpe(t.bpe, t.sentencepiece_model, params_of(t), data_root);
}

std::unique_ptr<Bpe> bpe_from_state(const TokenizerConfig& t, const std::string& spm_bytes,
                                    const std::string& data_root) {
  if (!t.enabled()) return nullptr;
  if (spm_bytes.empty()) return make_bpe(t.bpe, t.sentencepiece_model, params_of(t), data_root);
  return with_temp_file(spm_bytes, [&](const std::string& path) {
    return make_bpe(t.bpe, path, params_of(t), data_root);
  });
}

void check_supported(const DataConfig& c) {
  TRELLIS_CHECK(c.pre_tokenizer.empty(), ConfigError,
                "{}: pre_tokenizer '{}' is not supported (only subword tokenizers, "
                "bpe_tokenizer); pre-tokenize the manifest text instead",
                c.path, c.pre_tokenizer);
  TRELLIS_CHECK(!c.prepend_bos_and_append_tgt_lang_tag, ConfigError,
                "{}: prepend_bos_and_append_tgt_lang_tag is not supported; use "
                "prepend_tgt_lang_tag",
                c.path);
}

const std::string& state_at(const std::map<std::string, std::string>& state,
                            const std::string& key) {
  auto it = state.find(key);
  TRELLIS_CHECK(it != state.end(), CheckpointError,
                "the checkpoint's task state has no '{}' (saved by another task?)", key);
  return it->second;
}

}  // namespace

std::string dictionary_text(const Dictionary& dict) {
  std::string out;
  std::set<std::string> seen;
  for (int64_t i = 0; i < dict.size(); ++i) {
    const std::string& s = dict.symbol(i);
    const bool repeated = !seen.insert(s).second;
    if (i < dict.nspecial()) continue;
    out += s + " " + std::to_string(dict.count(i)) + (repeated ? " #fairseq:overwrite" : "") + "\n";
  }
  return out;
}

Dictionary dictionary_from_text(const std::string& text, const std::string& where) {
  try {
    return with_temp_file(text, [](const std::string& p) { return Dictionary::load(p); });
  } catch (const DataError& e) {
    throw DataError(fmt::format("{}: {}", where, e.what()));
  }
}

SpeechVocab SpeechVocab::from_files(const std::string& data_root, const std::string& config_yaml,
                                    bool source_side) {
  SpeechVocab v;
  const std::string cfg_path = (fs::path(data_root) / config_yaml).string();
  v.config_text_ = read_file(cfg_path, "data config (--config-yaml)");
  v.config = DataConfig::parse(v.config_text_, cfg_path);
  check_supported(v.config);
  v.tgt_dict = Dictionary::load(v.config.vocab_path(data_root, false));
  v.bpe = bpe_from_files(v.config.bpe_tokenizer, data_root, &v.spm_model_);
  if (source_side) {
    v.src_dict =
        std::make_unique<Dictionary>(Dictionary::load(v.config.vocab_path(data_root, true)));
    v.bpe_src = bpe_from_files(v.config.bpe_tokenizer_src, data_root, &v.spm_model_src_);
  }
  return v;
}

SpeechVocab SpeechVocab::from_state(const std::map<std::string, std::string>& state,
                                    const std::string& data_root, bool source_side) {
  SpeechVocab v;
  v.config_text_ = state_at(state, "config_yaml");
  auto path = state.find("config_yaml_path");
  v.config = DataConfig::parse(v.config_text_,
                               path != state.end() ? path->second : "<checkpoint config_yaml>");
  check_supported(v.config);
  v.tgt_dict = dictionary_from_text(state_at(state, "tgt_dict"), "checkpoint tgt_dict");
  auto get = [&](const char* key) {
    auto it = state.find(key);
    return it == state.end() ? std::string() : it->second;
  };
  v.spm_model_ = get("spm_model");
  v.bpe = bpe_from_state(v.config.bpe_tokenizer, v.spm_model_, data_root);
  if (source_side) {
    v.src_dict = std::make_unique<Dictionary>(
        dictionary_from_text(state_at(state, "src_dict"), "checkpoint src_dict"));
    v.spm_model_src_ = get("spm_model_src");
    v.bpe_src = bpe_from_state(v.config.bpe_tokenizer_src, v.spm_model_src_, data_root);
  }
  return v;
}

std::map<std::string, std::string> SpeechVocab::state() const {
  std::map<std::string, std::string> s;
  s["config_yaml"] = config_text_;
  s["config_yaml_path"] = config.path;
  s["tgt_dict"] = dictionary_text(tgt_dict);
  if (!spm_model_.empty()) s["spm_model"] = spm_model_;
  if (src_dict) s["src_dict"] = dictionary_text(*src_dict);
  if (!spm_model_src_.empty()) s["spm_model_src"] = spm_model_src_;
  return s;
}

std::vector<int64_t> SpeechVocab::encode(const std::string& text, bool source) const {
  const Dictionary& dict = source ? *src_dict : tgt_dict;
  const Bpe* tok = source ? bpe_src.get() : bpe.get();
  if (tok == nullptr) return dict.encode_line(text, false);
  std::string joined;
  for (const auto& p : tok->encode(text)) {
    if (!joined.empty()) joined += ' ';
    joined += p;
  }
  return dict.encode_line(joined, false);
}

std::string SpeechVocab::decode(const std::vector<int64_t>& ids, bool source) const {
  const Dictionary& dict = source ? *src_dict : tgt_dict;
  const Bpe* tok = source ? bpe_src.get() : bpe.get();
  std::string symbols = dict.string(ids);
  return tok == nullptr ? symbols : tok->decode(split_whitespace(symbols));
}

}  // namespace trellis
