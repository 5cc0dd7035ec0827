#pragma once
// SentencePiece models: training from text (fairseq gen_vocab settings) and encode/decode.
// Training uses bos=0 (<s>), pad=1 (<pad>), eos=2 (</s>), unk=3 (<unk>) and
// character_coverage 1.0, so a fairseq dict.txt listing every non-special piece as `piece 1` in
// id order gives fairseq index == SentencePiece id for every piece (docs/data_formats.md).
//
// libsentencepiece is used through libtrellis_spm, loaded at run time with dlmopen: linked
// normally, its built-in protobuf 3.14 clashes with the system libprotobuf 3.21 that LibTorch
// loads (core/data/spm_shim/spm_shim.cpp).

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace trellis {

struct SpmTrainOptions {
  std::string model_type = "unigram";  // unigram | bpe | char | word
  int64_t vocab_size = 8000;
  double character_coverage = 1.0;
  std::vector<std::string> user_defined_symbols;  // e.g. <lang:de>
  int num_threads = 1;
  bool hard_vocab_limit = true;     // false: vocab_size is a soft limit (tiny corpora)
  int64_t input_sentence_size = 0;  // 0 = all sentences
};

class SentencePieceVocab {
 public:
  // Loads a .model file; throws DataError naming it.
  explicit SentencePieceVocab(const std::string& model_path);

  // Trains `<model_prefix>.model` / `.vocab` from `sentences` (written to a temporary text
  // file next to the prefix). Throws DataError with SentencePiece's message.
  static void train(const std::vector<std::string>& sentences, const std::string& model_prefix,
                    const SpmTrainOptions& options);
  static void train_from_file(const std::string& text_file, const std::string& model_prefix,
                              const SpmTrainOptions& options);

  // Pieces of each text (texts must not contain newlines).
  std::vector<std::vector<std::string>> encode_batch(const std::vector<std::string>& texts) const;
  std::vector<std::string> encode_pieces(const std::string& text) const;
  std::vector<int> encode_ids(const std::string& text) const;
  std::string decode_pieces(const std::vector<std::string>& pieces) const;
  std::string decode_ids(const std::vector<int>& ids) const;

  int size() const;
  std::string id_to_piece(int id) const;
  int piece_to_id(const std::string& piece) const;
  const std::string& path() const { return path_; }

  // fairseq dict.txt: every piece except <unk> <s> </s> <pad>, as `piece 1`, in id order.
  void write_fairseq_dict(const std::string& path) const;

 private:
  std::string path_;
  std::vector<std::string> pieces_;  // id -> piece
  std::unordered_map<std::string, int> ids_;
  std::shared_ptr<void> handle_;  // the loaded SentencePieceProcessor
};

}  // namespace trellis
