#include "toy_exact_match.h"

#include <fmt/format.h>

#include <algorithm>

namespace toy {

void ToyExactMatch::add(const trellis::ScorerSample& s) {
  std::string ref = s.reference, hyp = s.hypothesis;
  if (options_.toy_ignore_spaces) {
    ref.erase(std::remove(ref.begin(), ref.end(), ' '), ref.end());
    hyp.erase(std::remove(hyp.begin(), hyp.end(), ' '), hyp.end());
  }
  correct_ += ref == hyp ? 1 : 0;
  ++total_;
}

double ToyExactMatch::score() const {
  return total_ ? 100.0 * static_cast<double>(correct_) / static_cast<double>(total_) : 0.0;
}

std::string ToyExactMatch::result_string() const {
  return fmt::format("EXACT: {:.2f} ({}/{})", score(), correct_, total_);
}

}  // namespace toy

TRELLIS_REGISTER(trellis::scorer_registry(), "toy_exact_match", toy::ToyExactMatch,
                 toy::ToyExactMatchOptions, "plugin example: sentence exact-match rate");
