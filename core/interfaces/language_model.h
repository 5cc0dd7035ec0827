#pragma once
// A capability of models that score token sequences left to right (transformer_lm,
// docs/models.md): the language_modeling task trains them through it, and generate fuses them
// into its searches (core/generate/neural_lm_fusion.h). A model that has it derives from both
// Model and LanguageModel; callers ask for it with dynamic_cast (no code compares model names).
//
// Input convention (fairseq's language models): position 0 holds the token before the block,
// eos at the start of a sentence; logits at position i predict the token at position i + 1.

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/interfaces/model.h"

namespace trellis {

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  // tokens: (B, L) int64, right-padded with pad -> (B, L, V) float logits. With `state`, only the
  // last position is computed, (B, 1, V), using and updating the cached keys/values (every
  // buffer batch-first, so IncrementalState::reorder selects hypotheses).
  virtual at::Tensor lm_logits(const at::Tensor& tokens, IncrementalState* state = nullptr) = 0;
  // The vocabulary size V of the logits.
  virtual int64_t lm_vocab_size() const = 0;
};

}  // namespace trellis
