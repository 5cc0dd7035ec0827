#pragma once
// fairseq's compute_mask_indices, "static" spans (docs/models.md, "Masking"), used for the time and
// channel masking of wav2vec2 fine-tuning. For each row with valid length sz:
//   num = max(min_masks, int(prob * sz / length + u)), u ~ U[0, 1)
//   starts: num distinct values in [0, sz - length) (or [0, num + 1) when that range is too
//   small); each span covers start .. start + length - 1; indices >= sz are dropped.
// With same_count every row is then sub-sampled to the smallest masked count of the batch.
// Random numbers come from `rng` (the caller seeds it from torch's generator, so a resumed
// run draws the same masks).

#include <cstdint>
#include <random>
#include <vector>

namespace trellis {

struct MaskSpans {
  double prob = 0.0;
  int64_t length = 10;
  int64_t min_masks = 0;
  bool same_count = true;
};

// valid_lengths: the valid length of each row (<= width) -> mask[row][i] for i < width
std::vector<std::vector<bool>> compute_mask_indices(const std::vector<int64_t>& valid_lengths,
                                                    int64_t width, const MaskSpans& spans,
                                                    std::mt19937_64& rng);

}  // namespace trellis
