#pragma once
// Gain perturbation, two spellings of one thing:
//   `gain` (NeMo's GainPerturbation): u ~ U[0, 1); if u < prob: g ~ U[min_gain_dbfs,
//     max_gain_dbfs] dB and x *= 10^(g / 20) (so 20 log10(rms(y) / rms(x)) = g exactly, up to
//     float rounding). Defaults -10, 10, prob 1.
//   `volume_perturb` (Kaldi's utils/data/perturb_data_dir_volume.sh): u as above; a ~
//     U[min_factor, max_factor] and x *= a. Defaults 0.125, 2 (Kaldi's), prob 1.
// The length never changes.

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "core/data/waveform_transform.h"

namespace trellis {

struct GainPerturbOptions {
  bool linear = false;  // false: lo/hi in dB (gain); true: linear factors (volume_perturb)
  double lo = -10, hi = 10;
  double prob = 1.0;
};

class GainPerturb : public WaveformTransform {
 public:
  explicit GainPerturb(const GainPerturbOptions& opts);
  // `gain`
  static std::unique_ptr<WaveformTransform> from_config(const YAML::Node& params,
                                                        const std::string& config_path);
  // `volume_perturb`
  static std::unique_ptr<WaveformTransform> from_volume_config(const YAML::Node& params,
                                                               const std::string& config_path);

  void apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const override;
  std::string name() const override { return opts_.linear ? "volume_perturb" : "gain"; }
  // The linear factor apply() multiplies by for this rng state (1 when skipped); consumes the
  // same draws as apply().
  double draw_factor(std::mt19937_64& rng) const;
  const GainPerturbOptions& options() const { return opts_; }

 private:
  GainPerturbOptions opts_;
};

}  // namespace trellis
