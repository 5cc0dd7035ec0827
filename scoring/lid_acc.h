#pragma once
// Language-identification accuracy (--scoring lid_acc) for multilingual targets that start with
// a language tag (prepend_tgt_lang_tag): the share of sentences whose top hypothesis starts with
// the reference's tag, in percent. It reads the first target symbol of each ("<lang:de>"), not
// the detokenized texts (the tags are stripped there), and refuses a task whose targets carry
// no tag.

#include <cstdint>
#include <string>

#include "core/interfaces/scorer.h"

namespace trellis {

class Dictionary;

struct LidAccOptions {
  template <class V>
  void visit(V&) {}
};

class LidAccuracyScorer : public Scorer {
 public:
  LidAccuracyScorer() = default;
  // ConfigError unless the task's targets start with a language tag.
  LidAccuracyScorer(const LidAccOptions&, const ScorerContext& ctx);
  void add(const ScorerSample& s) override;
  // reference, hypothesis: the first target symbol of each (a language tag).
  void add_string(const std::string& reference, const std::string& hypothesis);
  double score() const override;           // percent; 0 with no sentence
  std::string result_string() const override;  // "ACC: 97.50 (39/40)"

 private:
  const Dictionary* dictionary_ = nullptr;
  int64_t correct_ = 0, total_ = 0;
};

}  // namespace trellis
