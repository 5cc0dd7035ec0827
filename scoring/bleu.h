#pragma once
// --scoring bleu: fairseq's default scorer, BLEU-4 over target-dictionary ids (fairseq's
// scoring/bleu.py with its C++ counter libbleu), not over text. Per sentence:
//   reference: pad removed, <unk> ids replaced by a value no hypothesis id equals (an unknown
//   word never matches); then both sequences are trimmed: leading pads dropped, trailing eos and
//   pads dropped except the first symbol (an empty hypothesis [eos] keeps its eos);
//   for n = 1..4: count_n += max(0, |hyp| - n + 1); match_n += hypothesis n-grams found in the
//   reference, each reference n-gram used at most once; reflen += |ref|; predlen += |hyp|.
// Corpus: p_n = match_n / count_n (0 when count_n is 0);
//   BLEU = 100 * min(1, exp(1 - reflen / predlen)) * exp(mean_n log p_n)   (0 if any p_n = 0)
// result_string(), fairseq's text:
//   "BLEU4 = 41.11, 66.7/50.0/40.0/25.0 (BP=1.000, ratio=1.000, syslen=6, reflen=6)"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/interfaces/scorer.h"

namespace trellis {

struct TokenBleuOptions {  // pad/eos/unk come from the target dictionary
  template <class V>
  void visit(V&) {}
};

class TokenBleuScorer : public Scorer {
 public:
  TokenBleuScorer(int64_t pad, int64_t eos, int64_t unk);
  TokenBleuScorer(const TokenBleuOptions&, const ScorerContext& ctx);  // ids of the dictionary

  void add(const ScorerSample& s) override { add_tokens(s.reference_tokens, s.hypothesis_tokens); }
  // reference, hypothesis: (L), (L') target ids as decoded (pads and a final eos allowed).
  void add_tokens(const std::vector<int64_t>& reference, const std::vector<int64_t>& hypothesis);
  double score() const override;
  std::string result_string() const override;
  // match_n / count_n for n = 1..4.
  std::array<double, 4> precisions() const;
  double brevity() const;

 private:
  int64_t pad_, eos_, unk_;
  int64_t reflen_ = 0, predlen_ = 0;
  std::array<int64_t, 4> match_{}, count_{};
};

}  // namespace trellis
