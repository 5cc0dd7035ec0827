#pragma once
// Scorers (generate --scoring; fairseq's scoring registry): accumulate one (reference, best
// hypothesis) pair per decoded sentence and report a corpus-level score. A scorer is a
// registered component with its own options struct (its flags appear in generate --help once
// it is selected); --user-dir plugins add scorers the same way.
//
//   auto scorer = scorer_registry().create(name, options, ScorerContext{...});  // may refuse
//   for each sentence: scorer->add(sample);
//   "Generate test with beam=5: " + scorer->result_string()

#include <cstdint>
#include <string>
#include <vector>

#include "core/interfaces/task_traits.h"
#include "core/registry.h"

namespace trellis {

class Dictionary;

// What a scorer may rely on; its constructor throws ConfigError when the task lacks what the
// scorer needs (lid_acc: targets that start with a language tag).
struct ScorerContext {
  const Dictionary* target_dictionary = nullptr;  // symbols and pad/eos/unk of the target ids
  TaskTraits task;                                // what the task's targets hold
  int64_t prefix_size = 0;                        // --prefix-size: forced reference tokens
};

// One decoded sentence.
struct ScorerSample {
  std::string reference;                   // detokenized reference (Task::detokenize)
  std::string hypothesis;                  // detokenized best hypothesis
  std::vector<int64_t> reference_tokens;   // (L) target ids, pad removed, eos last
  std::vector<int64_t> hypothesis_tokens;  // (L') the hypothesis' target ids as decoded
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual void add(const ScorerSample& sample) = 0;
  virtual double score() const = 0;
  // The final line's text, e.g. "WER: 12.34".
  virtual std::string result_string() const = 0;
};

using ScorerRegistry = Registry<Scorer, const ScorerContext&>;
ScorerRegistry& scorer_registry();

}  // namespace trellis
