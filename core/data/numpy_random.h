#pragma once
// numpy.random.RandomState(seed) bit-exact for what batching needs: legacy MT19937 seeding
// (init_genrand), 32-bit outputs, random_interval (mask-and-reject) and shuffle (Fisher-Yates
// from the end: for i = n-1..1, j = random_interval(i), swap(x[i], x[j])).

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace trellis {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}

  uint32_t next_uint32() { return static_cast<uint32_t>(mt_()); }
  uint64_t next_uint64() {
    uint64_t hi = next_uint32();
    return (hi << 32) | next_uint32();
  }

  // A uniform integer in [0, max] (numpy random_interval).
  uint64_t random_interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    uint64_t value;
    if (max <= 0xffffffffULL) {
      while ((value = (next_uint32() & mask)) > max) {
      }
    } else {
      while ((value = (next_uint64() & mask)) > max) {
      }
    }
    return value;
  }

  template <class T>
  void shuffle(std::vector<T>& x) {
    for (size_t i = x.size(); i-- > 1;) {
      size_t j = static_cast<size_t>(random_interval(i));
      std::swap(x[i], x[j]);
    }
  }

 private:
  std::mt19937 mt_;
};

}  // namespace trellis
