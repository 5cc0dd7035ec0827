#pragma once
// Language-identification accuracy (--scoring lid_acc) for multilingual targets that start with
// a language tag (prepend_tgt_lang_tag): the share of sentences whose top hypothesis starts with
// the reference's tag, in percent. generate feeds it the two tag symbols ("<lang:de>"), not the
// detokenized texts (the tags are stripped there).

#include <cstdint>
#include <string>

#include "core/scorer.h"

namespace trellis {

class LidAccuracyScorer : public Scorer {
 public:
  // reference, hypothesis: the first target symbol of each (a language tag).
  void add_string(const std::string& reference, const std::string& hypothesis) override;
  double score() const override;           // percent; 0 with no sentence
  std::string result_string() const override;  // "ACC: 97.50 (39/40)"

 private:
  int64_t correct_ = 0, total_ = 0;
};

}  // namespace trellis
