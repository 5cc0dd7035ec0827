#pragma once
// Additive noise (`noise`, fairseq's `backgroundnoiseaugment` / `musicaugment` / `babbleaugment`)
// and the pieces the waveform transforms share: AudioPool (a lazily read, cached set of noise or
// impulse-response files) and the option readers of the transforms' YAML blocks.
//
// NoiseAugment, per utterance s (N samples at rate r):
//   u ~ U[0, 1); nothing happens unless u < prob;
//   k ~ U{0 .. K-1} (the noise file), snr ~ U[min_snr_db, max_snr_db];
//   noise n_k read once, resampled to r and cached; offset o ~ U{0 .. L-N} when L >= N, else
//     o ~ U{0 .. L-1} and the noise is tiled (read circularly): e[i] = n_k[(o + i) mod L];
//   babble: the noise e is itself a mix of m ~ U{3 .. 7} draws e_0 .. e_{m-1} (file, offset each):
//     a_0 = e_0, a_i = mix(a_{i-1}, e_i, snr = i dB) (fairseq's BabbleAugmentTransform);
//   mix(s, e, snr): P_s = mean(s^2), P_e = mean(e^2) over the N samples;
//     s += 10^(-snr/20) * sqrt(P_s / P_e) * e, so 10 log10(P_s / P(added)) = snr exactly;
//     P_s == 0 or P_e == 0: s is left unchanged.
// Draw order (replayable: draw() then mix() is apply()): u; then snr; then (babble) m; then k
// and o per noise component.
//
// YAML: ours `noise: {manifest, min_snr_db: 10, max_snr_db: 50, prob: 1.0}` (NeMo's
// NoisePerturbation defaults); fairseq spelling `{samples_path, snr_min: 5, snr_max: 15,
// rate: 0.25}` (fairseq's defaults). Either spelling is accepted under any of the names;
// `babbleaugment` mixes several files per utterance, the others one.

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/data/waveform_transform.h"

namespace trellis {

// The options of one transform's YAML block, for error messages and the unknown-key check.
class TransformOptions {
 public:
  // params: the block (null or a map; anything else throws DataError).
  TransformOptions(const YAML::Node& params, std::string config_path, std::string transform);
  bool has(const char* key) const;
  double get_double(const char* key, double fallback) const;
  std::string get_string(const char* key, const std::string& fallback) const;
  std::vector<double> get_doubles(const char* key, const std::vector<double>& fallback) const;
  // A path option: relative values resolve against the config's folder when they exist there,
  // else stay relative to the working directory (as feature transforms do).
  std::string get_path(const char* key) const;
  // Throws DataError naming the config file, the transform and the first key not in `known`.
  void check_known(const std::vector<std::string>& known) const;
  // DataError "CONFIG: TRANSFORM.KEY: what".
  [[noreturn]] void fail(const char* key, const std::string& what) const;
  const std::string& config_path() const { return config_path_; }

 private:
  YAML::Node params_;
  std::string config_path_, transform_;
};

// A list of audio files read on first use, cached per (file, sample rate); thread-safe.
// source: a folder (searched recursively for .wav .flac .ogg .mp3 .sph files, sorted), or a
// manifest: one path per line (blank lines and lines starting with '#' skipped), or a TSV whose
// header has an `audio` column; relative paths resolve against the manifest's folder.
class AudioPool {
 public:
  explicit AudioPool(const std::string& source);
  explicit AudioPool(std::vector<std::string> paths);
  size_t size() const { return paths_.size(); }
  const std::string& path(size_t i) const { return paths_[i]; }
  // File i as (L,) mono float at sample_rate; DataError when it is unreadable or empty.
  std::shared_ptr<const std::vector<float>> get(size_t i, int sample_rate) const;

 private:
  std::vector<std::string> paths_;
  mutable std::mutex mutex_;
  mutable std::map<std::pair<size_t, int>, std::shared_ptr<const std::vector<float>>> cache_;
};

struct NoiseAugmentOptions {
  double min_snr_db = 10, max_snr_db = 50;
  double prob = 1.0;
  bool babble = false;  // fairseq babbleaugment: 3..7 files mixed per utterance
};

class NoiseAugment : public WaveformTransform {
 public:
  // What apply() draws for one utterance.
  struct Draw {
    bool applied = false;
    double snr_db = 0;
    std::vector<float> noise;  // (N) the noise (tiled, babble-mixed) before scaling
  };

  NoiseAugment(std::shared_ptr<const AudioPool> pool, const NoiseAugmentOptions& opts,
               std::string name = "noise");
  // name: `noise`, `backgroundnoiseaugment`, `musicaugment` or `babbleaugment`.
  static std::unique_ptr<WaveformTransform> from_config(const YAML::Node& params,
                                                        const std::string& config_path,
                                                        const std::string& name);

  void apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const override;
  std::string name() const override { return name_; }

  // The random part of apply() for an utterance of n samples.
  Draw draw(size_t n, int sample_rate, std::mt19937_64& rng) const;
  // samples += 10^(-snr/20) * sqrt(P_s / P_e) * noise (see the file comment). noise: (N) as
  // samples; both silent-checks leave samples unchanged. -> the scale applied (0 if none)
  static double mix(std::vector<float>& samples, const std::vector<float>& noise, double snr_db);
  const NoiseAugmentOptions& options() const { return opts_; }

 private:
  std::vector<float> draw_segment(size_t n, int sample_rate, std::mt19937_64& rng) const;

  std::shared_ptr<const AudioPool> pool_;
  NoiseAugmentOptions opts_;
  std::string name_;
};

}  // namespace trellis
