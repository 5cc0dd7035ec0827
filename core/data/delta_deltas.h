#pragma once
// UP fairseq `delta_deltas` (DeltaDeltas, win_length 5): appends first and second time
// derivatives, (T, F) -> (T, 3F) with row t = [x_t, d_t, dd_t], where (torchaudio compute_deltas)
//   d_t = sum_{k=-n..n} k * x_{clamp(t+k)} / (n (n+1) (2n+1) / 3),  n = (win_length - 1) / 2,
// edges replicated, and dd = deltas of d.

#include "core/data/feature_transform.h"

namespace trellis {

struct DeltaDeltasOptions {
  int win_length = 5;
};

class DeltaDeltas : public FeatureTransform {
 public:
  explicit DeltaDeltas(const DeltaDeltasOptions& opts = {});
  // x: (T, F) row-major float -> (T, 3F), resized in place.
  void apply(std::vector<float>& x, int64_t T, int64_t F) const;
  void apply(std::vector<float>& x, int64_t T, int64_t F, std::mt19937_64&) const override {
    apply(x, T, F);
  }
  int64_t output_dim(int64_t C) const override { return 3 * C; }
  std::string name() const override { return "delta_deltas"; }

 private:
  DeltaDeltasOptions opts_;
};

}  // namespace trellis
