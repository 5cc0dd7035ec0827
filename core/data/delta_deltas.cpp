#include "core/data/delta_deltas.h"

#include <algorithm>

#include "core/error.h"

namespace trellis {
namespace {

// Deltas over time of a (T, F) block with row stride `stride` (reads column offset `in`, writes
// column offset `out`). x: (T, stride) float
void deltas(std::vector<float>& x, int64_t T, int64_t F, int64_t stride, int64_t in, int64_t out,
            int n) {
  const float denom = float(n * (n + 1) * (2 * n + 1)) / 3.0f;
  for (int64_t t = 0; t < T; ++t) {
    float* o = x.data() + t * stride + out;
    for (int64_t f = 0; f < F; ++f) o[f] = 0.0f;
    for (int k = -n; k <= n; ++k) {
      if (k == 0) continue;
      const int64_t s = std::clamp<int64_t>(t + k, 0, T - 1);
      const float* r = x.data() + s * stride + in;
      for (int64_t f = 0; f < F; ++f) o[f] += float(k) * r[f];
    }
    for (int64_t f = 0; f < F; ++f) o[f] /= denom;
  }
}

}  // namespace

DeltaDeltas::DeltaDeltas(const DeltaDeltasOptions& opts) : opts_(opts) {
  TRELLIS_CHECK(opts.win_length >= 3, DataError, "delta_deltas: win_length {} < 3",
                opts.win_length);
}

void DeltaDeltas::apply(std::vector<float>& x, int64_t T, int64_t F) const {
  const int n = (opts_.win_length - 1) / 2;
  std::vector<float> out(size_t(T * 3 * F));
  for (int64_t t = 0; t < T; ++t) {
    std::copy(x.begin() + t * F, x.begin() + (t + 1) * F, out.begin() + t * 3 * F);
  }
  if (T > 0) {
    deltas(out, T, F, 3 * F, 0, F, n);
    deltas(out, T, F, 3 * F, F, 2 * F, n);
  }
  x = std::move(out);
}

}  // namespace trellis
