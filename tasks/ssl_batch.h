#pragma once
// The batch of --task masked_token_prediction (tasks/masked_token_prediction.h): features of the
// clean audio and of the same audio after speech/noise mixing, one row per utterance, rows
// sorted by descending length (ties by sample index).

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "core/interfaces/batch.h"

namespace trellis {

struct MaskedTokenBatch : TaskBatch {
  at::Tensor clean;    // (B, T, F) float: features of the clean audio, zero past each length
  at::Tensor noisy;    // (B, T, F) float: features of the mixed audio, zero past each length
  at::Tensor lengths;  // (B) int64 valid frames of both; T = max length rounded up to --pad-to
  uint64_t seed = 0;   // seeds the model's mask generator (a CPU at::Generator)
  int64_t mixed = 0;   // utterances the mixing changed (scale > 0)
};

}  // namespace trellis
