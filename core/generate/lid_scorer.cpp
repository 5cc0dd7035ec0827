#include "core/generate/lid_scorer.h"

#include <fmt/format.h>

namespace trellis {

void LidAccuracyScorer::add_string(const std::string& reference, const std::string& hypothesis) {
  correct_ += reference == hypothesis ? 1 : 0;
  ++total_;
}

double LidAccuracyScorer::score() const {
  return total_ > 0 ? 100.0 * static_cast<double>(correct_) / static_cast<double>(total_) : 0.0;
}

std::string LidAccuracyScorer::result_string() const {
  return fmt::format("ACC: {:.2f} ({}/{})", score(), correct_, total_);
}

}  // namespace trellis
