#pragma once
// What `generate --lm-path` names, loaded and checked against the decoding model's target
// dictionary (docs/generate.md, "LM fusion"):
//   an ARPA file (anything that is not a zip)  -> the word-level n-gram fusion (word_lm_fusion.h)
//   a trellis checkpoint (zip) of a language model (--task language_modeling, e.g.
//   --arch transformer_lm)                     -> the token-level neural fusion
//                                                 (neural_lm_fusion.h); its dictionary must be
//                                                 the target dictionary, symbol by symbol.

#include <cstdint>
#include <memory>
#include <string>

#include "core/generate/lm_fusion.h"

namespace trellis {

class ArpaLm;
class Dictionary;
struct LoadedCheckpoint;

struct LoadedLm {
  std::shared_ptr<ArpaLm> arpa;                     // n-gram
  std::shared_ptr<LoadedCheckpoint> checkpoint;     // neural
  std::unique_ptr<FusedLm> fusion;                  // what the searches use
  std::string kind;                                 // "n-gram" | "neural"
};

// path: --lm-path; weight/score: --lm-weight, --word-score; tgt: the model's target dictionary;
// blank: its CTC blank (spells nothing). ConfigError / CheckpointError / DataError name
// --lm-path and the file.
LoadedLm load_lm(const std::string& path, double weight, double score, const Dictionary& tgt,
                 int64_t blank);

}  // namespace trellis
