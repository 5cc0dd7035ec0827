#pragma once
// `speed_perturb`: Kaldi's `sox speed` / torchaudio SpeedPerturbation / lhotse Speed / ESPnet's
// speed_perturb_factors. Pitch and tempo change together:
//   f ~ U{factors} (one per utterance, from the rng);
//   f == 1: unchanged; else the audio is taken as recorded at r * f Hz and resampled to r Hz with
//   soxr (change_speed of core/data/speed_resample.h, as prepare --speed-perturb):
//   x: (N) -> y: (round(N / f)), a tone of frequency F becomes F * f.
// max_length(n) = ceil(n / min(factors)).
// YAML: `speed_perturb: {factors: [0.9, 1.0, 1.1]}` (the default), every factor > 0.

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "core/data/waveform_transform.h"

namespace trellis {

class SpeedPerturb : public WaveformTransform {
 public:
  explicit SpeedPerturb(std::vector<double> factors = {0.9, 1.0, 1.1});
  static std::unique_ptr<WaveformTransform> from_config(const YAML::Node& params,
                                                        const std::string& config_path);

  void apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const override;
  int64_t max_length(int64_t n) const override;
  std::string name() const override { return "speed_perturb"; }
  const std::vector<double>& factors() const { return factors_; }


 private:
  std::vector<double> factors_;
};

}  // namespace trellis
