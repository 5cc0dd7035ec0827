#pragma once
// Word and character error rates, corpus-level like fairseq's `wer` scorer (and jiwer):
//   WER = 100 * sum(edit distance(ref words, hyp words)) / sum(|ref words|)
// after the evaluation normalisation: tokenizer (`none`: split on whitespace; `13a`:
// sacreBLEU's mteval-v13a tokenizer, tokenizer_13a.h; `char`: every non-whitespace character
// a token, sacreBLEU's TokenizerChar; `intl` is refused), then tokens made only of punctuation
// removed (--wer-remove-punct), then characters (--wer-char-level, spaces become "▁"; `cer`
// scores characters without the spaces), then lowercase (--wer-lowercase, ASCII). 0 when the
// references have no token.

#include <cstdint>
#include <string>
#include <vector>

#include "core/interfaces/scorer.h"

namespace trellis {

struct WerOptions {
  std::string tokenizer = "none";
  bool remove_punct = false;
  bool lowercase = false;
  bool char_level = false;
  bool cer = false;  // character error rate (spaces dropped): set by --scoring cer, not a flag

  template <class V>
  void visit(V& v) {
    v.field("wer_tokenizer", tokenizer, "tokenizer applied before WER")
        .choices({"none", "13a", "intl", "char"});
    v.field("wer_remove_punct", remove_punct, "drop tokens made only of punctuation");
    v.field("wer_lowercase", lowercase, "lowercase before WER");
    v.field("wer_char_level", char_level, "score characters instead of words");
  }
};

// The tokens WerScorer compares for `text`.
std::vector<std::string> wer_tokens(const std::string& text, const WerOptions& options);

// --scoring wer (and, with options.cer, --scoring cer).
class WerScorer : public Scorer {
 public:
  explicit WerScorer(WerOptions options);
  WerScorer(const WerOptions& options, const ScorerContext&) : WerScorer(options) {}
  void add(const ScorerSample& s) override { add_string(s.reference, s.hypothesis); }
  void add_string(const std::string& reference, const std::string& hypothesis);
  double score() const override;
  std::string result_string() const override;  // "WER: 12.34" / "CER: ..."

 private:
  WerOptions options_;
  int64_t errors_ = 0, ref_length_ = 0;
};

// --scoring cer: WerScorer on characters without the spaces (same options).
class CerScorer : public WerScorer {
 public:
  CerScorer(WerOptions options, const ScorerContext& ctx);
};

}  // namespace trellis
