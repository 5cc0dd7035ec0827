#include "core/data/bpe.h"

#include <filesystem>

#include "core/data/char_vocab.h"
#include "core/data/sentencepiece_vocab.h"

namespace trellis {

BpeRegistry& bpe_registry() {
  static BpeRegistry registry("bpe", "--bpe");
  return registry;
}

static BpeRegistry& bpe_registry_instance = bpe_registry();

namespace {

// `model` as given when it exists, else relative to `dir` (a directory), else `dir` itself
// when it is a model file.
std::string resolve_model(const std::string& model, const std::string& dir) {
  namespace fs = std::filesystem;
  if (!model.empty()) {
    if (fs::exists(model) || fs::path(model).is_absolute() || dir.empty()) return model;
    fs::path base = fs::is_directory(dir) ? fs::path(dir) : fs::path(dir).parent_path();
    return (base / model).string();
  }
  TRELLIS_CHECK(!dir.empty() && fs::is_regular_file(dir), ConfigError,
                "bpe sentencepiece: no sentencepiece_model given");
  return dir;
}

class SentencePieceBpe : public Bpe {
 public:
  SentencePieceBpe(const SentencePieceOptions& o, const std::string& dir)
      : sp_(resolve_model(o.sentencepiece_model, dir)) {}
  std::vector<std::string> encode(const std::string& text) const override {
    return sp_.encode_pieces(text);
  }
  std::string decode(const std::vector<std::string>& pieces) const override {
    return sp_.decode_pieces(pieces);
  }
  std::string post_process_symbol() const override { return "sentencepiece"; }

 private:
  SentencePieceVocab sp_;
};

class CharactersBpe : public Bpe {
 public:
  CharactersBpe(const CharactersOptions& o, const std::string&)
      : vocab_(o.word_delimiter, o.trailing_delimiter) {}
  std::vector<std::string> encode(const std::string& text) const override {
    return vocab_.encode(text);
  }
  std::string decode(const std::vector<std::string>& pieces) const override {
    return vocab_.decode(pieces);
  }
  std::string post_process_symbol() const override { return "letter"; }

 private:
  CharVocab vocab_;
};

}  // namespace

std::unique_ptr<Bpe> make_bpe(const std::string& name, const std::string& model,
                              const std::vector<std::pair<std::string, std::string>>& params,
                              const std::string& data_dir) {
  if (name.empty() || name == "None" || name == "none") return nullptr;
  AnyOptions opts = bpe_registry().make_options(name);
  Fields fields = opts.fields();
  if (!model.empty()) {
    Field* f = fields.find("sentencepiece_model");
    TRELLIS_CHECK(f != nullptr, ConfigError, "bpe '{}' takes no sentencepiece_model", name);
    f->set_from_string(model, "bpe_tokenizer.sentencepiece_model");
  }
  for (const auto& kv : params) {
    Field* f = fields.find(kv.first);
    TRELLIS_CHECK(f != nullptr, ConfigError, "bpe '{}' has no option '{}'", name, kv.first);
    f->set_from_string(kv.second, "bpe_tokenizer." + kv.first);
  }
  return bpe_registry().create(name, opts, data_dir);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::bpe_registry(), "characters", trellis::CharactersBpe,
                 trellis::CharactersOptions,
                 "characters with a '|' word delimiter (wav2vec2 / fairseq letter targets)");
TRELLIS_REGISTER(trellis::bpe_registry(), "sentencepiece", trellis::SentencePieceBpe,
                 trellis::SentencePieceOptions, "SentencePiece model (unigram, bpe or char)");
