#pragma once
// `reverb`: convolution with a random room impulse response (Kaldi's
// steps/data/reverberate_data_dir.py / wav-reverberate, NeMo's ImpulsePerturbation, lhotse's
// ReverbWithImpulseResponse), keeping the length and the alignment:
//   u ~ U[0, 1); nothing happens unless u < prob; k ~ U{0 .. K-1} (the RIR file, read once,
//   resampled to the speech's rate r, cached);
//   h = h_k / sqrt(sum h_k^2) (unit energy: the reverberant speech keeps about the dry speech's
//     level), or `normalize: peak`: h = h_k / max|h_k| (direct path = 1, Kaldi's RIRs are
//     stored that way);
//   p = argmax |h| (the direct path); y[n] = sum_j h[j] x[n + p - j], n = 0 .. N-1: the full
//     convolution h * x shifted left by p (Kaldi's --shift-output) and cut to N samples, so a
//     label at time t stays at t.
// Convolution: FFTW float r2c/c2r overlap-add, FFT size the power of two >= 2M (M = RIR length,
// at most 2^19 samples) and at least 1024; plans are made once, when the first Reverb is built,
// so apply() never calls the (not thread-safe) FFTW planner.
// YAML: `reverb: {manifest: rir.lst, prob: 1.0, normalize: energy}`; `manifest` a folder or a
// list of RIR audio files as for `noise` (AudioPool).

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "core/data/waveform_transform.h"

namespace trellis {

class AudioPool;

struct ReverbOptions {
  double prob = 1.0;
  bool peak_normalize = false;  // false: unit energy; true: max |h| = 1
};

class Reverb : public WaveformTransform {
 public:
  Reverb(std::shared_ptr<const AudioPool> pool, const ReverbOptions& opts);
  static std::unique_ptr<WaveformTransform> from_config(const YAML::Node& params,
                                                        const std::string& config_path);

  void apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const override;
  std::string name() const override { return "reverb"; }

  // h normalised as configured (see the file comment). h: (M) -> (M)
  std::vector<float> normalize(const std::vector<float>& h) const;
  // y[n] = sum_j h[j] x[n + shift - j] for n in [0, N) (zero outside x), by FFT overlap-add.
  // x: (N), h: (M <= 2^19) -> (N)
  static std::vector<float> convolve(const std::vector<float>& x, const std::vector<float>& h,
                                     int64_t shift);
  // The index of max |h| (the first one on ties).
  static int64_t peak_index(const std::vector<float>& h);

 private:
  std::shared_ptr<const AudioPool> pool_;
  ReverbOptions opts_;
};

}  // namespace trellis
