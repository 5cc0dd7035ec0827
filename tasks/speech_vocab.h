#pragma once
// The vocabulary side of the speech tasks: the data config YAML, the target (and, for
// speech_to_text_ctc, source) fairseq dictionary and their subword tokenizers, read from
// DATA_ROOT or rebuilt from a checkpoint's task state (so generate and --finetune-from-model
// need none of the data root's vocabulary files). LibTorch-free.
//
// Task state keys (all text, except the SentencePiece models, which are their bytes):
//   config_yaml, config_yaml_path, tgt_dict, src_dict, spm_model, spm_model_src.
// Dictionaries are stored as dict.txt text with every symbol (a `<ctc_blank>` added for
// ctc_multi_loss included), so the restored indices are identical.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/data/bpe.h"
#include "core/data/data_config.h"
#include "core/data/dictionary.h"

namespace trellis {

class SpeechVocab {
 public:
  // Reads DATA_ROOT/<config_yaml>, the target dictionary (vocab_filename) and bpe_tokenizer;
  // with source_side also vocab_filename_src and bpe_tokenizer_src (no fallback to
  // bpe_tokenizer: FBK's default is no tokenizer). Missing files throw DataError naming them.
  static SpeechVocab from_files(const std::string& data_root, const std::string& config_yaml,
                                bool source_side);
  // Rebuilds from state() (a checkpoint's task state); CheckpointError names a missing key.
  static SpeechVocab from_state(const std::map<std::string, std::string>& state,
                                const std::string& data_root, bool source_side);
  // What from_state() needs.
  std::map<std::string, std::string> state() const;

  // text -> [pre-tokenizer] -> bpe pieces -> whitespace split -> dictionary indices (unknown ->
  // unk), without eos. source: the transcript side (src dictionary, bpe_tokenizer_src).
  std::vector<int64_t> encode(const std::string& text, bool source) const;
  // Indices -> dictionary symbols (eos/bos dropped) -> bpe decode (or the symbols joined by
  // spaces when there is no tokenizer).
  std::string decode(const std::vector<int64_t>& ids, bool source) const;

  DataConfig config;
  Dictionary tgt_dict;
  std::unique_ptr<Dictionary> src_dict;  // speech_to_text_ctc only
  std::unique_ptr<Bpe> bpe;              // null: no subword tokenizer
  std::unique_ptr<Bpe> bpe_src;

 private:
  std::string config_text_;
  std::string spm_model_, spm_model_src_;  // SentencePiece model bytes ("" when none)
};

// dict.txt text that Dictionary::load reads back into the same indices (a repeated symbol gets
// `#fairseq:overwrite`, as it must have had to load).
std::string dictionary_text(const Dictionary& dict);
// Dictionary::load of `text`; `where` names it in errors.
Dictionary dictionary_from_text(const std::string& text, const std::string& where);

}  // namespace trellis
