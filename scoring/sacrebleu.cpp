#include "scoring/sacrebleu.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_map>

#include "core/error.h"
#include "scoring/tokenizer_13a.h"

namespace trellis {
namespace {

// n-gram (its tokens joined by spaces: tokens hold no whitespace) -> count, orders 1..4.
using NgramCounts = std::unordered_map<std::string, int64_t>;

// sacreBLEU's extract_all_word_ngrams: every n-gram of orders 1..kBleuMaxOrder with its count.
NgramCounts count_ngrams(const std::vector<std::string>& tokens) {
  NgramCounts counts;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string key = tokens[i];
    ++counts[key];
    for (size_t n = 2; n <= static_cast<size_t>(kBleuMaxOrder) && i + n <= tokens.size(); ++n)
      ++counts[key.append(1, ' ').append(tokens[i + n - 1])];
  }
  return counts;
}

// The order of an n-gram key (1 + its spaces).
size_t order_of(const std::string& key) {
  return 1 + static_cast<size_t>(std::count(key.begin(), key.end(), ' '));
}

// sacreBLEU's _get_closest_ref_len: the reference length nearest hyp_len, the shorter on ties.
int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t best_diff = -1, best_len = -1;
  for (int64_t len : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - len);
    if (best_diff == -1 || diff < best_diff) {
      best_diff = diff;
      best_len = len;
    } else if (diff == best_diff && len < best_len) {
      best_len = len;
    }
  }
  return best_len;
}

// sacreBLEU's my_log: log, with log(0) floored to -9999999999.
double floored_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

}  // namespace

// Adds another segment's (or corpus's) statistics.
BleuStats& BleuStats::operator+=(const BleuStats& other) {
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    correct[n] += other.correct[n];
    total[n] += other.total[n];
  }
  return *this;
}

// sacreBLEU's Score.format(): score to 2 decimals, precisions to 1, BP and ratio to 3.
std::string BleuScore::format() const {
  std::string prec;
  for (double p : precisions) prec += fmt::format("{}{:.1f}", prec.empty() ? "" : "/", p);
  return fmt::format("BLEU = {:.2f} {} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})",
                     score, prec, bp, ratio, sys_len, ref_len);
}

// sacreBLEU's _preprocess_segment (lowercase, tokenize) and the split of extract_all_word_ngrams.
std::vector<std::string> bleu_tokens(const std::string& text, const BleuOptions& options) {
  const std::string cased = options.lowercase ? unicode_lower(text) : text;
  std::vector<std::string> words =
      split_unicode_whitespace(options.tokenizer == "13a" ? tokenize_13a(cased) : cased);
  if (options.tokenizer != "char") return words;
  // sacreBLEU's TokenizerChar joins the line's characters with spaces: every code point that
  // is not whitespace becomes a token (a UTF-8 continuation byte stays with its lead byte).
  std::vector<std::string> chars;
  for (const std::string& w : words)
    for (size_t i = 0; i < w.size(); ++i) {
      const auto byte = static_cast<unsigned char>(w[i]);
      if ((byte & 0xC0U) == 0x80U && !chars.empty())
        chars.back() += w[i];
      else
        chars.emplace_back(1, w[i]);
    }
  return chars;
}

// sacreBLEU's _extract_reference_info + _compute_segment_statistics.
BleuStats bleu_segment_stats(const std::vector<std::string>& hypothesis,
                             const std::vector<std::vector<std::string>>& references) {
  NgramCounts ref_counts;  // the largest count of each n-gram over the references
  std::vector<int64_t> ref_lens;
  for (const auto& ref : references) {
    for (const auto& [ngram, count] : count_ngrams(ref))
      ref_counts[ngram] = std::max(ref_counts[ngram], count);
    ref_lens.push_back(static_cast<int64_t>(ref.size()));
  }
  BleuStats s;
  s.sys_len = static_cast<int64_t>(hypothesis.size());
  s.ref_len = closest_ref_len(s.sys_len, ref_lens);
  for (const auto& [ngram, count] : count_ngrams(hypothesis)) {
    const size_t n = order_of(ngram) - 1;
    s.total[n] += count;
    const auto it = ref_counts.find(ngram);
    if (it != ref_counts.end()) s.correct[n] += std::min(count, it->second);
  }
  return s;
}

// sacreBLEU's BLEU.compute_bleu, smooth_method 'exp', effective_order False, order 4.
BleuScore compute_bleu(const BleuStats& st) {
  BleuScore r;
  r.sys_len = st.sys_len;
  r.ref_len = st.ref_len;
  r.ratio = st.ref_len ? static_cast<double>(st.sys_len) / static_cast<double>(st.ref_len) : 0.0;
  if (st.sys_len < st.ref_len)
    r.bp = st.sys_len > 0
               ? std::exp(1.0 - static_cast<double>(st.ref_len) / static_cast<double>(st.sys_len))
               : 0.0;
  if (std::all_of(st.correct.begin(), st.correct.end(), [](int64_t c) { return c == 0; }))
    return r;  // no match at all: 0, precisions 0 (sacreBLEU #141)
  double smooth = 1.0;
  for (int n = 0; n < kBleuMaxOrder; ++n) {
    if (st.total[n] == 0) break;  // the higher orders stay at precision 0
    if (st.correct[n] == 0) {
      smooth *= 2.0;
      r.precisions[n] = 100.0 / (smooth * static_cast<double>(st.total[n]));
    } else {
      r.precisions[n] =
          100.0 * static_cast<double>(st.correct[n]) / static_cast<double>(st.total[n]);
    }
  }
  double log_sum = 0.0;
  for (double p : r.precisions) log_sum += floored_log(p);
  r.score = r.bp * std::exp(log_sum / kBleuMaxOrder);
  return r;
}

// sacreBLEU's Metric.corpus_score: segment statistics summed, then compute_bleu.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses,
                      const std::vector<std::vector<std::string>>& reference_streams,
                      const BleuOptions& options) {
  BleuStats corpus;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    std::vector<std::vector<std::string>> refs;
    for (const auto& stream : reference_streams) {
      TRELLIS_CHECK(i < stream.size(), DataError,
                    "BLEU: a reference stream has {} lines for {} "
                    "hypotheses",
                    stream.size(), hypotheses.size());
      if (!stream[i].empty()) refs.push_back(bleu_tokens(stream[i], options));
    }
    TRELLIS_CHECK(!refs.empty(), DataError,
                  "BLEU: segment {} has only empty references "
                  "(sacreBLEU refuses them)",
                  i);
    corpus += bleu_segment_stats(bleu_tokens(hypotheses[i], options), refs);
  }
  return compute_bleu(corpus);
}

// Refuses the tokenizer fairseq accepts but trellis does not have (intl: Unicode categories).
SacrebleuScorer::SacrebleuScorer(BleuOptions options) : options_(std::move(options)) {
  TRELLIS_CHECK(options_.tokenizer == "13a" || options_.tokenizer == "none" ||
                    options_.tokenizer == "char",
                ConfigError,
                "--sacrebleu-tokenizer {}: not implemented (13a, char and none are)",
                options_.tokenizer);
}

// Adds one pair's statistics; an empty reference is an error, as in sacreBLEU.
void SacrebleuScorer::add_string(const std::string& reference, const std::string& hypothesis) {
  TRELLIS_CHECK(!reference.empty(), DataError,
                "--scoring sacrebleu: empty reference for hypothesis '{}' (sacreBLEU refuses "
                "empty references)",
                hypothesis);
  stats_ +=
      bleu_segment_stats(bleu_tokens(hypothesis, options_), {bleu_tokens(reference, options_)});
}

// Corpus BLEU so far, and its sacreBLEU line.
double SacrebleuScorer::score() const { return compute_bleu(stats_).score; }

std::string SacrebleuScorer::result_string() const { return compute_bleu(stats_).format(); }

}  // namespace trellis

TRELLIS_REGISTER(trellis::scorer_registry(), "sacrebleu", trellis::SacrebleuScorer,
                 trellis::BleuOptions, "corpus BLEU of the detokenized text, as sacreBLEU 2.x");
