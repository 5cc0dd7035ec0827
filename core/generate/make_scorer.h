#pragma once
// The scorer of `generate --scoring NAME` with its flags (--wer-*, --sacrebleu-*).

#include <memory>

#include "core/scorer.h"

namespace trellis {

struct GenerationOptions;

// ConfigError for a scorer that is not implemented.
std::unique_ptr<Scorer> make_scorer(const GenerationOptions& options);

}  // namespace trellis
