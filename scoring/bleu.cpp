#include "scoring/bleu.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/data/dictionary.h"
#include "core/error.h"

namespace trellis {
namespace {

// libbleu's trim: leading pads, then trailing eos/pad symbols but never the first one.
std::vector<int64_t> trim(const std::vector<int64_t>& s, int64_t pad, int64_t eos) {
  size_t begin = 0;
  while (begin < s.size() && s[begin] == pad) ++begin;
  if (begin == s.size()) return {};
  size_t end = s.size() - 1;
  while (end > begin && (s[end] == eos || s[end] == pad)) --end;
  return std::vector<int64_t>(s.begin() + static_cast<std::ptrdiff_t>(begin),
                              s.begin() + static_cast<std::ptrdiff_t>(end) + 1);
}

}  // namespace

TokenBleuScorer::TokenBleuScorer(int64_t pad, int64_t eos, int64_t unk)
    : pad_(pad), eos_(eos), unk_(unk) {}

TokenBleuScorer::TokenBleuScorer(const TokenBleuOptions&, const ScorerContext& ctx)
    : TokenBleuScorer(1, 2, 3) {
  TRELLIS_CHECK(ctx.target_dictionary != nullptr, ConfigError,
                "--scoring bleu compares target-dictionary ids: the task has no target "
                "dictionary");
  pad_ = ctx.target_dictionary->pad();
  eos_ = ctx.target_dictionary->eos();
  unk_ = ctx.target_dictionary->unk();
}

void TokenBleuScorer::add_tokens(const std::vector<int64_t>& reference,
                                 const std::vector<int64_t>& hypothesis) {
  std::vector<int64_t> ref;
  for (int64_t t : reference) {
    TRELLIS_CHECK(t >= 0, DataError, "--scoring bleu: negative reference id {}", t);
    // An unknown reference word matches nothing (fairseq writes -999 over <unk>).
    if (t != pad_) ref.push_back(t == unk_ ? std::numeric_limits<int64_t>::min() : t);
  }
  ref = trim(ref, pad_, eos_);
  const std::vector<int64_t> hyp = trim(hypothesis, pad_, eos_);
  reflen_ += static_cast<int64_t>(ref.size());
  predlen_ += static_cast<int64_t>(hyp.size());
  for (size_t n = 1; n <= 4; ++n) {
    if (hyp.size() < n) continue;
    count_[n - 1] += static_cast<int64_t>(hyp.size() - n + 1);
    if (ref.size() < n) continue;
    std::map<std::vector<int64_t>, int64_t> available;
    for (size_t i = 0; i + n <= ref.size(); ++i)
      ++available[std::vector<int64_t>(ref.begin() + i, ref.begin() + i + n)];
    for (size_t i = 0; i + n <= hyp.size(); ++i) {
      auto it = available.find(std::vector<int64_t>(hyp.begin() + i, hyp.begin() + i + n));
      if (it != available.end() && it->second > 0) {
        ++match_[n - 1];
        --it->second;
      }
    }
  }
}

std::array<double, 4> TokenBleuScorer::precisions() const {
  std::array<double, 4> p{};
  for (size_t n = 0; n < 4; ++n)
    p[n] = count_[n] > 0 ? static_cast<double>(match_[n]) / static_cast<double>(count_[n]) : 0.0;
  return p;
}

double TokenBleuScorer::brevity() const {
  if (predlen_ == 0) return 0.0;  // fairseq divides by zero here; nothing was hypothesised
  const double r = static_cast<double>(reflen_) / static_cast<double>(predlen_);
  return std::min(1.0, std::exp(1.0 - r));
}

double TokenBleuScorer::score() const {
  double log_sum = 0.0;
  for (double p : precisions()) {
    if (p <= 0.0) return 0.0;
    log_sum += std::log(p);
  }
  return brevity() * std::exp(log_sum / 4.0) * 100.0;
}

std::string TokenBleuScorer::result_string() const {
  const auto p = precisions();
  const double ratio =
      reflen_ > 0 ? static_cast<double>(predlen_) / static_cast<double>(reflen_) : 0.0;
  return fmt::format("BLEU4 = {:2.2f}, {:2.1f}/{:2.1f}/{:2.1f}/{:2.1f} (BP={:.3f}, ratio={:.3f}, "
                     "syslen={}, reflen={})",
                     score(), p[0] * 100, p[1] * 100, p[2] * 100, p[3] * 100, brevity(), ratio,
                     predlen_, reflen_);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::scorer_registry(), "bleu", trellis::TokenBleuScorer,
                 trellis::TokenBleuOptions,
                 "fairseq's BLEU-4 over target-dictionary ids (the default of --scoring)");
