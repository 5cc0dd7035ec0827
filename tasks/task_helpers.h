#pragma once
// Small helpers the tasks share.

#include <algorithm>
#include <cstdint>

namespace trellis {

// splitmix64's finaliser: a well-mixed 64-bit value from x (seeds of per-batch generators).
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The tighter of two size limits, where a limit <= 0 means none.
inline int64_t min_limit(int64_t a, int64_t b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return std::min(a, b);
}

}  // namespace trellis
