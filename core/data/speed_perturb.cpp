#include "core/data/speed_perturb.h"

#include <soxr.h>

#include <algorithm>
#include <cmath>

#include "core/data/noise_augment.h"
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

std::vector<float> SpeedPerturb::change_speed(const std::vector<float>& x, int sample_rate,
                                              double factor) {
  TRELLIS_CHECK(factor > 0 && sample_rate > 0, DataError, "speed_perturb: factor {}, rate {}",
                factor, sample_rate);
  if (factor == 1.0 || x.empty()) return x;
  const double in_rate = double(sample_rate) * factor, out_rate = double(sample_rate);
  std::vector<float> out(size_t(std::llround(double(x.size()) / factor)));
  if (out.empty()) return out;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_VHQ, 0);
  soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t err = nullptr;
  std::unique_ptr<soxr, void (*)(soxr_t)> r(soxr_create(in_rate, out_rate, 1, &err, &io, &q, &rt),
                                            soxr_delete);
  if (err) throw DataError(fmt::format("speed_perturb {}: {}", factor, err));
  size_t in_pos = 0, produced = 0;
  // Feed all input, then flush (in = NULL) until the expected length is reached.
  while (produced < out.size()) {
    size_t idone = 0, odone = 0;
    const bool flushing = in_pos >= x.size();
    err = soxr_process(r.get(), flushing ? nullptr : x.data() + in_pos, x.size() - in_pos, &idone,
                       out.data() + produced, out.size() - produced, &odone);
    if (err) throw DataError(fmt::format("speed_perturb {}: {}", factor, err));
    in_pos += idone;
    produced += odone;
    if (flushing && odone == 0) break;
  }
  out.resize(produced);
  return out;
}

void SpeedPerturb::apply(std::vector<float>& samples, int sample_rate, std::mt19937_64& rng) const {
  const size_t k = std::uniform_int_distribution<size_t>(0, factors_.size() - 1)(rng);
  const double f = factors_[k];
  if (f == 1.0) return;
  samples = change_speed(samples, sample_rate, f);
}

}  // namespace trellis
