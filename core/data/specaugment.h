#pragma once
// fairseq `specaugment` (SpecAugmentTransform), on a copy-free (T, F) float spectrogram:
//   mask_value unset -> the mean of the input; return unchanged if T == 0 or F < freq_mask_F;
//   time warp (2W < T): w0 ~ U[W, T-W), w ~ U[-W+1, W), rows [0, w0) resized linearly to w0 + w
//     rows and [w0, T) to T - w0 - w rows (OpenCV INTER_LINEAR, half-pixel centres);
//   freq_mask_N times: f ~ U[0, F_mask), f0 ~ U[0, F - f), columns [f0, f0 + f) = mask_value;
//   max_t = min(time_mask_T, floor(T * time_mask_p)); stop if max_t < 1;
//   time_mask_N times: t ~ U[0, max_t), t0 ~ U[0, T - t), rows [t0, t0 + t) = mask_value.
// Randomness comes from the std::mt19937_64 passed in (same seed -> same masks); fairseq uses
// numpy's global RNG, so masks are not bit-identical to it (docs/data_formats.md).
// YAML keys: freq_mask_N, freq_mask_F, time_mask_N, time_mask_T, time_mask_p, time_warp_W,
// mask_value. fairseq prep writes `time_wrap_W`, which fairseq never reads: it is ignored here too.

#include <optional>

#include "core/data/feature_transform.h"

namespace trellis {

struct SpecAugmentOptions {
  int time_warp_w = 0;
  int freq_mask_n = 0, freq_mask_f = 0;
  int time_mask_n = 0, time_mask_t = 0;
  double time_mask_p = 0.0;
  std::optional<float> mask_value;  // unset: mean of the spectrogram
};

class SpecAugment : public FeatureTransform {
 public:
  explicit SpecAugment(const SpecAugmentOptions& opts);
  // x: (T, F) row-major float, masked in place.
  void apply(std::vector<float>& x, int64_t T, int64_t F, std::mt19937_64& rng) const override;
  std::string name() const override { return "specaugment"; }
  const SpecAugmentOptions& options() const { return opts_; }

 private:
  SpecAugmentOptions opts_;
};

}  // namespace trellis
