#pragma once
// Corpus BLEU exactly as sacreBLEU 2.x's default `sacrebleu.corpus_bleu(hyps, [refs])`
// (sacrebleu/metrics/bleu.py), fairseq's `--scoring sacrebleu`: each segment is lowercased
// (--sacrebleu-lowercase, Python's str.lower) and tokenized (--sacrebleu-tokenizer: 13a, none
// = whitespace, or char = every non-whitespace code point); n-grams of orders 1..4 are counted, hypothesis counts clipped by the reference
// counts, and summed over the corpus with the lengths (the reference length closest to the
// hypothesis's where there are several). BLEU = BP * exp(mean log p_n) with 'exp' smoothing
// (the k-th order with no match gets p_n = 100 / (2^k * total_n)), no effective order, the
// corpus brevity penalty BP = exp(1 - ref_len / hyp_len) when hyp_len < ref_len, and 0 when no
// n-gram matches at all. Empty references are refused, as sacreBLEU does.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/interfaces/scorer.h"

namespace trellis {

constexpr int kBleuMaxOrder = 4;

struct BleuOptions {
  std::string tokenizer = "13a";  // 13a, none or char (intl is refused)
  bool lowercase = false;

  template <class V>
  void visit(V& v) {
    v.field("sacrebleu_tokenizer", tokenizer, "tokenizer applied before sacreBLEU")
        .choices({"none", "13a", "intl", "char"});
    v.field("sacrebleu_lowercase", lowercase, "lowercase before sacreBLEU");
  }
};

// BLEU's sufficient statistics, of one segment or summed over a corpus.
struct BleuStats {
  int64_t sys_len = 0, ref_len = 0;
  std::array<int64_t, kBleuMaxOrder> correct{}, total{};  // matched / hypothesis n-grams
  BleuStats& operator+=(const BleuStats& other);
};

struct BleuScore {
  double score = 0.0, bp = 1.0, ratio = 0.0;
  std::array<double, kBleuMaxOrder> precisions{};  // percent
  int64_t sys_len = 0, ref_len = 0;
  // sacreBLEU's BLEUScore.format(width=2), e.g.
  // "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
  std::string format() const;
};

// The tokens BLEU counts for `text` (lowercase, then tokenizer, then whitespace split).
std::vector<std::string> bleu_tokens(const std::string& text, const BleuOptions& options);

// Statistics of one hypothesis against one or more tokenized references (non-empty list).
BleuStats bleu_segment_stats(const std::vector<std::string>& hypothesis,
                             const std::vector<std::vector<std::string>>& references);

// sacreBLEU's BLEU.compute_bleu with smooth_method 'exp' and effective_order off.
BleuScore compute_bleu(const BleuStats& stats);

// sacrebleu.corpus_bleu(hypotheses, reference_streams): reference_streams[k][i] is the k-th
// reference of hypotheses[i]; empty ones are skipped, a segment with none left is an error.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams,
                      const BleuOptions& options = {});

// --scoring sacrebleu: corpus BLEU over the (reference, hypothesis) pairs, one reference each.
class SacrebleuScorer : public Scorer {
 public:
  explicit SacrebleuScorer(BleuOptions options);  // ConfigError for other tokenizers
  SacrebleuScorer(const BleuOptions& options, const ScorerContext&) : SacrebleuScorer(options) {}
  void add(const ScorerSample& s) override { add_string(s.reference, s.hypothesis); }
  void add_string(const std::string& reference, const std::string& hypothesis);
  double score() const override;
  std::string result_string() const override;  // BleuScore::format()

 private:
  BleuOptions options_;
  BleuStats stats_;
};

}  // namespace trellis
