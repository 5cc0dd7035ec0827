#pragma once
// Word and character error rates, corpus-level like fairseq's `wer` scorer (and jiwer):
//   WER = 100 * sum(edit distance(ref words, hyp words)) / sum(|ref words|)
// after the evaluation normalisation: tokenizer (`none`: split on whitespace; `13a`:
// sacreBLEU's mteval-v13a tokenizer, tokenizer_13a.h), then tokens made only of punctuation
// removed (--wer-remove-punct), then characters (--wer-char-level, spaces become "▁"; `cer`
// scores characters without the spaces), then lowercase (--wer-lowercase, ASCII). 0 when the
// references have no token.

#include <cstdint>
#include <string>
#include <vector>

#include "core/scorer.h"

namespace trellis {

struct WerOptions {
  std::string tokenizer = "none";
  bool remove_punct = false;
  bool lowercase = false;
  bool char_level = false;
  bool cer = false;  // character error rate (spaces dropped)
};

// The tokens WerScorer compares for `text`.
std::vector<std::string> wer_tokens(const std::string& text, const WerOptions& options);

class WerScorer : public Scorer {
 public:
  explicit WerScorer(WerOptions options);
  void add_string(const std::string& reference, const std::string& hypothesis) override;
  double score() const override;
  std::string result_string() const override;  // "WER: 12.34" / "CER: ..."

 private:
  WerOptions options_;
  int64_t errors_ = 0, ref_length_ = 0;
};

}  // namespace trellis
