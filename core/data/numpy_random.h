#pragma once
// numpy.random.RandomState(seed) bit-exact for what batching needs: legacy MT19937 seeding
// (init_genrand for an integer seed, init_by_array for a list of them), 32-bit outputs,
// random_interval (mask-and-reject), shuffle (Fisher-Yates from the end: for i = n-1..1,
// j = random_interval(i), swap(x[i], x[j])) and choice(n, size, replace) without weights.

#include <cstdint>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

namespace trellis {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(uint32_t seed) : mt_(seed) {}
  // RandomState([k0, k1, ...]): MT19937's init_by_array (numpy's seeding for a 1-d seed array).
  explicit NumpyRandomState(const std::vector<uint32_t>& key) {
    constexpr size_t n = 624;
    std::vector<uint32_t> mt(n);
    mt[0] = 19650218U;
    for (size_t i = 1; i < n; ++i)
      mt[i] = 1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<uint32_t>(i);
    const size_t len = key.empty() ? 1 : key.size();
    size_t i = 1, j = 0;
    for (size_t k = n > len ? n : len; k; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) +
              (key.empty() ? 0U : key[j]) + static_cast<uint32_t>(j);
      if (++i >= n) mt[0] = mt[n - 1], i = 1;
      if (++j >= len) j = 0;
    }
    for (size_t k = n - 1; k; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
      if (++i >= n) mt[0] = mt[n - 1], i = 1;
    }
    mt[0] = 0x80000000U;
    // std::mt19937 reads its 624 state words as text and starts with a twist, as numpy does.
    std::stringstream state;
    for (uint32_t w : mt) state << w << ' ';
    state >> mt_;
  }

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

  // numpy RandomState.choice(n, size, replace) with uniform weights: with replacement
  // randint(0, n, size) (mask-and-reject draws), without it permutation(n)[:size].
  std::vector<int64_t> choice(int64_t n, int64_t size, bool replace) {
    std::vector<int64_t> out;
    if (replace) {
      out.reserve(static_cast<size_t>(size));
      for (int64_t k = 0; k < size; ++k)
        out.push_back(static_cast<int64_t>(random_interval(static_cast<uint64_t>(n - 1))));
      return out;
    }
    out.resize(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out[static_cast<size_t>(k)] = k;
    shuffle(out);
    out.resize(static_cast<size_t>(size));
    return out;
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
