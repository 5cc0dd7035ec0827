#pragma once
// Subword tokenizers (`bpe_tokenizer: {bpe: NAME, ...}` in the data config, fairseq's --bpe).
// encode() gives the pieces a fairseq Dictionary indexes; decode() inverts it.
//
//   auto opts = bpe_registry().make_options("sentencepiece");
//   opts.as<SentencePieceOptions>().sentencepiece_model = "spm.model";
//   auto bpe = bpe_registry().create("sentencepiece", opts, data_dir);

#include <string>
#include <vector>

#include "core/registry.h"

namespace trellis {

class Bpe {
 public:
  virtual ~Bpe() = default;
  virtual std::vector<std::string> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<std::string>& pieces) const = 0;
  // The post_process symbol generate uses to undo the pieces ("sentencepiece", "letter").
  virtual std::string post_process_symbol() const { return "none"; }
};

// The constructor argument: the data directory (relative model paths are resolved in it when
// they do not exist as given) or a model path.
using BpeRegistry = Registry<Bpe, const std::string&>;
BpeRegistry& bpe_registry();

struct SentencePieceOptions {
  std::string sentencepiece_model;
  template <class V>
  void visit(V& v) {
    v.field("sentencepiece_model", sentencepiece_model, "path to the SentencePiece .model");
  }
};

struct CharactersOptions {
  std::string word_delimiter = "|";
  bool trailing_delimiter = true;
  template <class V>
  void visit(V& v) {
    v.field("word_delimiter", word_delimiter, "symbol between words");
    v.field("trailing_delimiter", trailing_delimiter, "end every sentence with the delimiter");
  }
};

// Builds the tokenizer a data config block names ({bpe: sentencepiece, sentencepiece_model: X});
// string values of `params` fill the options by name. nullptr when bpe is empty/None.
std::unique_ptr<Bpe> make_bpe(const std::string& name, const std::string& model,
                              const std::vector<std::pair<std::string, std::string>>& params,
                              const std::string& data_dir);

}  // namespace trellis
