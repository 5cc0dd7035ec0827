#include "scoring/lid_acc.h"

#include <fmt/format.h>

#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/logging.h"

namespace trellis {

LidAccuracyScorer::LidAccuracyScorer(const LidAccOptions&, const ScorerContext& ctx)
    : dictionary_(ctx.target_dictionary) {
  TRELLIS_CHECK(ctx.task.target_lang_tag && dictionary_ != nullptr, ConfigError,
                "--scoring lid_acc needs targets that start with a language tag "
                "(prepend_tgt_lang_tag in the data config)");
  if (ctx.prefix_size > 0)
    log::Logger("trellis.generate")
        .warn("--scoring lid_acc with --prefix-size {}: the tag is forced from the reference, so "
              "the accuracy is 100% by construction",
              ctx.prefix_size);
}

void LidAccuracyScorer::add(const ScorerSample& s) {
  TRELLIS_CHECK(dictionary_ != nullptr, Error, "lid_acc: built without a target dictionary");
  const Dictionary& d = *dictionary_;
  add_string(s.reference_tokens.empty() ? "" : d.symbol(s.reference_tokens[0]),
             s.hypothesis_tokens.empty() ? "" : d.symbol(s.hypothesis_tokens[0]));
}

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

TRELLIS_REGISTER(trellis::scorer_registry(), "lid_acc", trellis::LidAccuracyScorer,
                 trellis::LidAccOptions,
                 "language-tag accuracy of the top hypothesis (targets with a language tag)");
