#pragma once
// fairseq `global_cmvn`: x <- (x - mean) / std with per-dimension stats from an `.npz` holding
// arrays `mean` and `std` (fairseq's prep writes std = sqrt(max(var, 1e-8))).

#include <string>

#include "core/data/feature_transform.h"

namespace trellis {

struct GlobalCmvnOptions {
  std::string stats_npz_path;
};

class GlobalCmvn : public FeatureTransform {
 public:
  // Reads the npz; DataError naming it when missing, compressed or without mean/std.
  explicit GlobalCmvn(const GlobalCmvnOptions& opts);
  GlobalCmvn(std::vector<float> mean, std::vector<float> stddev);
  // x: (T, C) row-major float, in place; C must equal the stats' length (DataError otherwise).
  void apply(std::vector<float>& x, int64_t T, int64_t C) const;
  void apply(std::vector<float>& x, int64_t T, int64_t C, std::mt19937_64&) const override {
    apply(x, T, C);
  }
  std::string name() const override { return "global_cmvn"; }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& stddev() const { return std_; }

 private:
  std::string source_;
  std::vector<float> mean_, std_;
};

}  // namespace trellis
