#pragma once
// Word-level shallow fusion of an n-gram LM into CTC prefix beam search, lexicon-free: output
// units spell words, and a word is scored by the LM when the unit that starts the next word
// (SentencePiece's '▁' prefix) or a word boundary unit ('|', fairseq's letter separator)
// completes it; the last word and </s> are scored when the utterance ends. A prefix y with
// words w1..wk completed is ranked by
//   log p_ctc(y) + alpha * ln p_lm(w1..wk) + beta * k
// (alpha = --lm-weight, beta = --word-score; natural logs, as NeMo and ESPnet; fairseq's
// KenLM decoder adds KenLM's log10 scores, i.e. its weight is alpha * ln 10), and the final
// hypothesis by the same sum with the last word and </s> included. With alpha = beta = 0 the
// search and its scores are exactly those without an LM.

#include <cstdint>
#include <string>
#include <vector>

#include "core/generate/arpa_lm.h"
#include "core/generate/lm_fusion.h"

namespace trellis {

// How each output unit spells words.
struct WordSpelling {
  enum Kind : uint8_t {
    kInner,      // appends text to the current word ("a", "at")
    kWordStart,  // completes the current word, starts a new one with text ("▁the", "▁")
    kBoundary,   // completes the current word ("|")
    kSilent,     // spells nothing (<s>, <pad>, </s>, <unk>, ids past the dictionary)
  };
  std::vector<Kind> kind;         // per unit id
  std::vector<std::string> text;  // per unit id: the characters it adds

  // From the dictionary's symbols; ids in `silent` spell nothing.
  static WordSpelling from_pieces(const std::vector<std::string>& pieces,
                                  const std::vector<int64_t>& silent);
  Kind kind_of(int64_t unit) const {
    return unit >= 0 && unit < static_cast<int64_t>(kind.size()) ? kind[static_cast<size_t>(unit)]
                                                                 : kSilent;
  }
};

struct WordLmFusion {
  const ArpaLm* lm = nullptr;
  double weight = 0.0;      // alpha, on natural-log LM probabilities
  double word_score = 0.0;  // beta, added per word
  WordSpelling spelling;
};

// The LM side of one prefix: completed words' log-probability and count, the LM state after
// them and the word being spelled.
struct WordLmProgress {
  LmState state;
  std::string partial;
  double lm = 0.0;  // natural log
  int64_t words = 0;

  static WordLmProgress start(const WordLmFusion& f);
  // The progress after appending `unit`.
  WordLmProgress extend(const WordLmFusion& f, int64_t unit) const;
  // The progress at the end of the utterance: the last word and </s> scored.
  WordLmProgress finish(const WordLmFusion& f) const;
  // alpha * lm + beta * words, exactly 0 for alpha = beta = 0.
  double bonus(const WordLmFusion& f) const;
};

// The word-level n-gram LM as the searches see it (lm_fusion.h): node.score = bonus(progress),
// finish = bonus(progress.finish()). In attention and joint decoding the unit eos ends the
// sentence (finish); elsewhere the gains are 0 except at units that complete a word.
class WordNgramFusion : public FusedLm {
 public:
  explicit WordNgramFusion(WordLmFusion fusion) : f_(std::move(fusion)) {}
  LmNodePtr start() override;
  LmNodePtr extend(const LmNodePtr& node, int64_t unit) override;
  double finish(const LmNodePtr& node) override;
  void gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out) override;
  int64_t vocab_size() const override { return static_cast<int64_t>(f_.spelling.kind.size()); }
  std::string describe() const override;
  const WordLmFusion& fusion() const { return f_; }

 private:
  struct Node : LmNode {
    WordLmProgress progress;
  };
  LmNodePtr make(WordLmProgress p, int64_t length) const;
  WordLmFusion f_;
};

}  // namespace trellis
