#pragma once
// Collation of loaded samples into a SpeechBatch (docs/tasks.md): rows sorted
// by descending real source length (ties by sample index), sources zero-padded, token
// sequences right-padded with pad, prev_output_tokens = eos + target[:-1].

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/speech_batch.h"

namespace trellis {

struct CollateItem {
  int64_t index = 0;                                 // sample index in the split
  std::string id;                                    // manifest id
  std::vector<float> source;                         // (frames, dim) row-major float, or (frames)
  int64_t frames = 0;                                // real length T (N samples for raw audio)
  int64_t dim = 1;                                   // F (1 for raw audio)
  const std::vector<int32_t>* target = nullptr;      // [tag] + tokens + eos
  const std::vector<int32_t>* transcript = nullptr;  // tokens + eos, or null / empty: none
};

// items -> SpeechBatch: src_tokens (B, T_max, F) float (raw_audio: (B, N_max)), src_lengths
// (B) int64, target / prev_output_tokens (B, L_max) int64 padded with pad, target_lengths (B),
// transcript (B, S_max) / transcript_lengths (B) when every item has one, ntokens = sum of
// target_lengths, src_frames = sum of src_lengths, padded_frames = B * T_max. All items must
// share `dim`. An empty list gives an empty batch. pad_to > 0 (features only: NeMo's front end,
// SourceOptions::pad_frames_to()): T_max is rounded up to a multiple of pad_to with zero frames
// (src_lengths stay the real lengths; padded_frames counts the padded width).
SpeechBatch collate_items(std::vector<CollateItem> items, bool raw_audio, int64_t pad, int64_t eos,
                          int64_t pad_to = 0);

}  // namespace trellis
