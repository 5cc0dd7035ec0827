#include "core/data/speed_perturb.h"

#include <algorithm>
#include <cmath>

#include "core/data/noise_augment.h"
#include "core/data/speed_resample.h"
#include "core/error.h"

namespace trellis {

SpeedPerturb::SpeedPerturb(std::vector<double> factors) : factors_(std::move(factors)) {
  TRELLIS_CHECK(!factors_.empty(), DataError, "speed_perturb: no factors");
  for (double f : factors_) {
    TRELLIS_CHECK(std::isfinite(f) && f > 0, DataError, "speed_perturb: factor {} is not > 0", f);
  }
}

std::unique_ptr<WaveformTransform> SpeedPerturb::from_config(const YAML::Node& params,
                                                             const std::string& config_path) {
  TransformOptions p(params, config_path, "speed_perturb");
  p.check_known({"factors"});
  std::vector<double> f = p.get_doubles("factors", {0.9, 1.0, 1.1});
  if (f.empty()) p.fail("factors", "empty list");
  for (double v : f) {
    if (!(v > 0)) p.fail("factors", fmt::format("factor {} is not > 0", v));
  }
  return std::make_unique<SpeedPerturb>(std::move(f));
}

int64_t SpeedPerturb::max_length(int64_t n) const {
  const double lo = *std::min_element(factors_.begin(), factors_.end());
  return int64_t(std::ceil(double(n) / lo));
}

void SpeedPerturb::apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const {
  const size_t k = std::uniform_int_distribution<size_t>(0, factors_.size() - 1)(rng);
  const double f = factors_[k];
  if (f == 1.0) return;
  samples = change_speed(samples, sample_rate, f);  // core/data/speed_resample.h
}

}  // namespace trellis
