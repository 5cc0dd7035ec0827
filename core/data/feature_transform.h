#pragma once
// Feature transforms of fairseq's data config YAML (`transforms:` per split, each transform's
// options under the top-level key of its name), applied to one utterance's (T, C) row-major
// float features in list order. LibTorch-free.
//
// Selection for split s (fairseq S2TDataConfig.get_feature_transforms): transforms[s], else
// transforms["_train"] for a training split or transforms["_eval"] otherwise, else
// transforms["*"], else none. UP's `feature_transforms:` is read when `transforms:` is absent.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace trellis {

class FeatureTransform {
 public:
  virtual ~FeatureTransform() = default;
  // x: (T, C) row-major float, changed in place (a transform may change C: see output_dim).
  // rng is used only by random transforms (SpecAugment).
  virtual void apply(std::vector<float>& x, int64_t T, int64_t C, std::mt19937_64& rng) const = 0;
  virtual int64_t output_dim(int64_t C) const { return C; }
  virtual std::string name() const = 0;
};

// The transforms for `split` (is_train: the split is a training split; fairseq takes it from the
// whole --train-subset string). Relative paths in options resolve against config_path's folder
// (UP) and then the working directory (FBK). Unknown transform names and bad option values throw
// DataError naming config_path.
std::vector<std::unique_ptr<FeatureTransform>> build_transforms(const YAML::Node& config,
                                                                const std::string& split,
                                                                const std::string& config_path,
                                                                bool is_train);
// As above, with is_train = split starts with "train".
std::vector<std::unique_ptr<FeatureTransform>> build_transforms(const YAML::Node& config,
                                                                const std::string& split,
                                                                const std::string& config_path);

// Applies each transform in order. x: (T, C) float -> (T, C') float; returns C'.
int64_t apply_transforms(const std::vector<std::unique_ptr<FeatureTransform>>& transforms,
                         std::vector<float>& x, int64_t T, int64_t C, std::mt19937_64& rng);

}  // namespace trellis
