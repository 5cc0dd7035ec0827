#include "core/data/utterance_cmvn.h"

#include <algorithm>
#include <cmath>

namespace trellis {

void UtteranceCmvn::apply(std::vector<float>& x, int64_t T, int64_t C) const {
  if (T <= 0 || C <= 0) return;
  std::vector<double> sum(size_t(C), 0.0), sq(size_t(C), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    const float* row = x.data() + t * C;
    for (int64_t c = 0; c < C; ++c) {
      sum[c] += row[c];
      sq[c] += double(row[c]) * row[c];
    }
  }
  std::vector<float> mean(static_cast<size_t>(C)), inv_std(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const double m = sum[c] / double(T);
    const double var = sq[c] / double(T) - m * m;
    mean[c] = opts_.norm_means ? float(m) : 0.0f;
    inv_std[c] = opts_.norm_vars ? float(1.0 / std::sqrt(std::max(var, 1e-10))) : 1.0f;
  }
  for (int64_t t = 0; t < T; ++t) {
    float* row = x.data() + t * C;
    for (int64_t c = 0; c < C; ++c) row[c] = (row[c] - mean[c]) * inv_std[c];
  }
}

}  // namespace trellis
