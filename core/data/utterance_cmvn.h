#pragma once
// fairseq `utterance_cmvn`: per feature dimension over time,
//   mean = sum_t x / T, var = sum_t x^2 / T - mean^2, std = sqrt(max(var, 1e-10));
//   x <- x - mean (norm_means), x <- x / std (norm_vars; std from the un-centred sums).
// Sums are accumulated in double, the result stays float32 (as in fairseq).

#include "core/data/feature_transform.h"

namespace trellis {

struct UtteranceCmvnOptions {
  bool norm_means = true;
  bool norm_vars = true;
};

class UtteranceCmvn : public FeatureTransform {
 public:
  explicit UtteranceCmvn(const UtteranceCmvnOptions& opts = {}) : opts_(opts) {}
  // x: (T, C) row-major float, in place; T == 0 is a no-op.
  void apply(std::vector<float>& x, int64_t T, int64_t C) const;
  void apply(std::vector<float>& x, int64_t T, int64_t C, std::mt19937_64&) const override {
    apply(x, T, C);
  }
  std::string name() const override { return "utterance_cmvn"; }

 private:
  UtteranceCmvnOptions opts_;
};

}  // namespace trellis
