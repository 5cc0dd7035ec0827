#pragma once
// Scorers (generate --scoring): accumulate (reference, hypothesis) pairs of detokenized text and
// report a corpus-level score, like fairseq's scoring registry (wer, sacrebleu, ...).

#include <string>

#include "core/registry.h"

namespace trellis {

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual void add_string(const std::string& reference, const std::string& hypothesis) = 0;
  virtual double score() const = 0;
  // The final line's text, e.g. "WER: 12.34".
  virtual std::string result_string() const = 0;
};

using ScorerRegistry = Registry<Scorer>;
ScorerRegistry& scorer_registry();

}  // namespace trellis
