#pragma once
// Log-space arithmetic of the CTC decoders.

#include <algorithm>
#include <cmath>
#include <limits>

namespace trellis {

constexpr double kLogZero = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)), exact when either is log 0.
inline double log_add(double a, double b) {
  if (a == kLogZero) return b;
  if (b == kLogZero) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace trellis
