#pragma once
// Waveform transforms (data augmentation on audio, before the front end), configured in the data
// config YAML as fairseq does: `waveform_transforms:` maps a split name (or `_train`, `_eval`,
// `*`) to a list of transform names, and each transform's options sit under the top-level key
// of its name:
//
//   waveform_transforms:
//     _train: [speed_perturb, gain, backgroundnoiseaugment, reverb]
//   speed_perturb: {factors: [0.9, 1.0, 1.1]}
//   ...
//
// They run on training audio only where a split lists them, in list order, on the waveform read
// from the manifest (raw-audio models and fbank computed on the fly; stored features cannot be
// augmented this way). Every random draw comes from the generator the task seeds with (seed,
// epoch, sample index), so a resumed or multi-process run sees the same augmentation as a
// straight one. LibTorch-free. docs/data_formats.md lists the transforms and their options.
//
// Names (each class in its own file, built by its from_config): speed_perturb (speed_perturb.h),
// gain and volume_perturb (gain_perturb.h), noise, backgroundnoiseaugment, musicaugment and
// babbleaugment (noise_augment.h, with AudioPool, the cached noise/RIR file list), reverb
// (reverb.h).

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace trellis {

class WaveformTransform {
 public:
  virtual ~WaveformTransform() = default;
  // samples: (N) float at sample_rate Hz, changed in place (speed perturbation changes N).
  virtual void apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const = 0;
  // An upper bound of the output length for an input of n samples (batching and size filters
  // use it): n, or n / (smallest speed factor) for speed perturbation.
  virtual int64_t max_length(int64_t n) const { return n; }
  virtual std::string name() const = 0;
};

using WaveformTransforms = std::vector<std::unique_ptr<WaveformTransform>>;

// The waveform transforms for `split` (selection as for feature transforms: the split's own
// list, else _train / _eval by is_train, else *, else none). Relative paths in options (noise and
// impulse-response manifests) resolve against config_path's folder, then the working directory.
// Unknown names and bad options throw DataError naming config_path and the key.
WaveformTransforms build_waveform_transforms(const YAML::Node& config, const std::string& split,
                                             const std::string& config_path, bool is_train);

// Applies each transform in order. samples: (N) float -> (N') float.
void apply_waveform_transforms(const WaveformTransforms& transforms, std::vector<float>& samples,
                               int sample_rate, std::mt19937_64& rng);

// Upper bound of the length after every transform, for an input of n (frames or samples: the
// bound scales both alike).
int64_t max_transformed_length(const WaveformTransforms& transforms, int64_t n);

}  // namespace trellis
