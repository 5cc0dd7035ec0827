#include "core/data/gain_perturb.h"

#include <cmath>

#include "core/data/noise_augment.h"
#include "core/error.h"

namespace trellis {

GainPerturb::GainPerturb(const GainPerturbOptions& o) : opts_(o) {
  TRELLIS_CHECK(o.hi >= o.lo, DataError, "{}: empty range [{}, {}]", name(), o.lo, o.hi);
  TRELLIS_CHECK(!o.linear || o.lo >= 0, DataError, "volume_perturb: negative factor {}", o.lo);
  TRELLIS_CHECK(o.prob >= 0 && o.prob <= 1, DataError, "{}: probability {} outside [0, 1]",
                name(), o.prob);
}

namespace {

std::unique_ptr<WaveformTransform> build(const TransformOptions& p, GainPerturbOptions o,
                                         const char* lo_key, const char* hi_key) {
  p.check_known({lo_key, hi_key, "prob"});
  o.lo = p.get_double(lo_key, o.lo);
  o.hi = p.get_double(hi_key, o.hi);
  o.prob = p.get_double("prob", o.prob);
  if (o.hi < o.lo) p.fail(hi_key, fmt::format("empty range [{}, {}]", o.lo, o.hi));
  if (o.linear && o.lo < 0) p.fail(lo_key, fmt::format("factor {} is negative", o.lo));
  if (o.prob < 0 || o.prob > 1) p.fail("prob", fmt::format("{} outside [0, 1]", o.prob));
  return std::make_unique<GainPerturb>(o);
}

}  // namespace

std::unique_ptr<WaveformTransform> GainPerturb::from_config(const YAML::Node& params,
                                                            const std::string& config_path) {
  GainPerturbOptions o;
  return build(TransformOptions(params, config_path, "gain"), o, "min_gain_dbfs",
               "max_gain_dbfs");
}

std::unique_ptr<WaveformTransform> GainPerturb::from_volume_config(
    const YAML::Node& params, const std::string& config_path) {
  GainPerturbOptions o;
  o.linear = true, o.lo = 0.125, o.hi = 2.0;
  return build(TransformOptions(params, config_path, "volume_perturb"), o, "min_factor",
               "max_factor");
}

double GainPerturb::draw_factor(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  if (!(u < opts_.prob)) return 1.0;
  double v = std::uniform_real_distribution<double>(opts_.lo, opts_.hi)(rng);
  if (opts_.hi == opts_.lo) v = opts_.lo;
  return opts_.linear ? v : std::pow(10.0, v / 20.0);
}

void GainPerturb::apply(std::vector<float>& samples, int, std::mt19937_64& rng) const {
  const double a = draw_factor(rng);
  if (a == 1.0) return;
  for (float& s : samples) s = float(double(s) * a);
}

}  // namespace trellis
