#pragma once
// The batch of the speech tasks (speech_to_text, speech_to_text_ctc): fairseq's sample dict
// for speech. Rows are sorted by descending source length (tasks/collate.h).

#include <ATen/core/Tensor.h>

#include "core/interfaces/batch.h"

namespace trellis {

struct SpeechBatch : TaskBatch {
  at::Tensor src_tokens;          // (B, T, F*C) float zero-padded; raw audio: (B, N) float
  at::Tensor src_lengths;         // (B) int64 real frames (samples for raw audio)
  at::Tensor target;              // (B, L) int64, [lang tag] + tokens + eos, right-padded (pad)
  at::Tensor target_lengths;      // (B) int64, including eos and the tag
  at::Tensor prev_output_tokens;  // (B, L) int64, eos + target[:-1], right-padded
  at::Tensor transcript;          // (B, S) int64 source transcript + eos (speech_to_text_ctc)
  at::Tensor transcript_lengths;  // (B) int64, including eos
};

}  // namespace trellis
