#include "core/data/temperature_sampling.h"

#include <cmath>
#include <map>

#include "core/data/numpy_random.h"
#include "core/error.h"

namespace trellis {

std::vector<double> temperature_size_ratios(const std::vector<std::string>& pairs,
                                            const std::vector<int64_t>& frames, double alpha) {
  TRELLIS_CHECK(pairs.size() == frames.size(), ConfigError,
                "temperature resampling: {} language pairs for {} splits", pairs.size(),
                frames.size());
  TRELLIS_CHECK(alpha > 0, ConfigError, "sampling_alpha must be > 0, got {}", alpha);
  // Per pair in first-seen order, as fairseq's dicts sum them (the float sum's order matters).
  std::vector<std::string> order;
  std::map<std::string, int64_t> count;
  for (size_t i = 0; i < pairs.size(); ++i) {
    TRELLIS_CHECK(frames[i] > 0, ConfigError,
                  "temperature resampling: split {} ({}) has no frames", i, pairs[i]);
    if (!count.count(pairs[i])) order.push_back(pairs[i]);
    count[pairs[i]] += frames[i];
  }
  int64_t total_frames = 0;  // a Python int sum: exact
  for (const auto& [pair, n] : count) total_frames += n;
  const auto total = static_cast<double>(total_frames);
  std::map<std::string, double> target;
  double target_sum = 0;
  for (const std::string& pair : order) {
    target[pair] = std::pow(static_cast<double>(count[pair]) / total, alpha);
    target_sum += target[pair];
  }
  std::vector<double> out;
  for (const std::string& pair : pairs) {
    const double q = target[pair] / target_sum;
    out.push_back(q * total / static_cast<double>(count[pair]));
  }
  return out;
}

std::vector<int64_t> resample_indices(int64_t n, double ratio, int64_t seed, int64_t epoch) {
  TRELLIS_CHECK(n > 0 && ratio > 0, ConfigError,
                "temperature resampling: {} samples with size ratio {}", n, ratio);
  const auto size = static_cast<int64_t>(std::ceil(static_cast<double>(n) * ratio));
  constexpr int64_t k2_32 = int64_t{1} << 32;
  const auto s = static_cast<uint32_t>(((seed % k2_32) + k2_32) % k2_32);  // Python's seed % 2**32
  NumpyRandomState rng(std::vector<uint32_t>{42U, s, static_cast<uint32_t>(epoch)});
  return rng.choice(n, size, ratio >= 1.0);
}

}  // namespace trellis
