#include "core/data/specaugment.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace trellis {
namespace {

// Uniform integer in [lo, hi) (numpy.random.randint semantics). Requires lo < hi.
int64_t randint(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi - 1)(rng);
}

// Linear resize of rows [from, from + n) of x (F columns) to m rows, OpenCV INTER_LINEAR style.
// -> (m, F) float
std::vector<float> resize_rows(const std::vector<float>& x, int64_t from, int64_t n, int64_t m,
                               int64_t F) {
  std::vector<float> out(size_t(m * F));
  const double scale = double(n) / double(m);
  for (int64_t r = 0; r < m; ++r) {
    double fy = (double(r) + 0.5) * scale - 0.5;
    int64_t sy = int64_t(std::floor(fy));
    fy -= double(sy);
    if (sy < 0) sy = 0, fy = 0;
    if (sy >= n - 1) sy = n - 1, fy = 0;
    const float* a = x.data() + (from + sy) * F;
    const float* b = x.data() + (from + std::min(sy + 1, n - 1)) * F;
    float* o = out.data() + r * F;
    for (int64_t c = 0; c < F; ++c) o[c] = float((1.0 - fy) * a[c] + fy * b[c]);
  }
  return out;
}

}  // namespace

SpecAugment::SpecAugment(const SpecAugmentOptions& o) : opts_(o) {
  TRELLIS_CHECK(o.time_warp_w >= 0 && o.freq_mask_n >= 0 && o.freq_mask_f >= 0 &&
                    o.time_mask_n >= 0 && o.time_mask_t >= 0,
                DataError, "specaugment: negative parameter");
  TRELLIS_CHECK(o.time_mask_p >= 0.0 && o.time_mask_p <= 1.0, DataError,
                "specaugment: time_mask_p {} outside [0, 1]", o.time_mask_p);
}

void SpecAugment::apply(std::vector<float>& x, int64_t T, int64_t F, std::mt19937_64& rng) const {
  if (T <= 0 || F < opts_.freq_mask_f) return;
  float mask_value;
  if (opts_.mask_value) {
    mask_value = *opts_.mask_value;
  } else {
    double s = 0;
    for (int64_t i = 0; i < T * F; ++i) s += x[size_t(i)];
    mask_value = float(s / double(T * F));
  }
  const int64_t W = opts_.time_warp_w;
  if (W > 0 && 2 * W < T) {
    const int64_t w0 = randint(rng, W, T - W), w = randint(rng, -W + 1, W);
    if (w != 0) {
      std::vector<float> upper = resize_rows(x, 0, w0, w0 + w, F);
      std::vector<float> lower = resize_rows(x, w0, T - w0, T - w0 - w, F);
      std::copy(upper.begin(), upper.end(), x.begin());
      std::copy(lower.begin(), lower.end(), x.begin() + (w0 + w) * F);
    }
  }
  for (int i = 0; i < opts_.freq_mask_n; ++i) {
    const int64_t f = opts_.freq_mask_f > 0 ? randint(rng, 0, opts_.freq_mask_f) : 0;
    const int64_t f0 = randint(rng, 0, F - f);
    for (int64_t t = 0; t < T && f > 0; ++t) {
      std::fill(x.begin() + t * F + f0, x.begin() + t * F + f0 + f, mask_value);
    }
  }
  const int64_t max_t =
      std::min<int64_t>(opts_.time_mask_t, int64_t(std::floor(double(T) * opts_.time_mask_p)));
  if (max_t < 1) return;
  for (int i = 0; i < opts_.time_mask_n; ++i) {
    const int64_t t = randint(rng, 0, max_t);
    const int64_t t0 = randint(rng, 0, T - t);
    if (t > 0) std::fill(x.begin() + t0 * F, x.begin() + (t0 + t) * F, mask_value);
  }
}

}  // namespace trellis
