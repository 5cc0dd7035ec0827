#pragma once
// bfloat16 as its 16 bits <-> float32 for the hand-vectorised kernels (core/cpu_dispatch.h):
// branch-free, so GCC vectorises the loops that use them. Round to nearest even; NaN stays NaN.

#include <cstdint>

#include "core/cpu_dispatch.h"

namespace trellis::bf16_bits {

TRELLIS_INLINE float load(const float* p, int64_t i) { return p[i]; }
TRELLIS_INLINE float load(const uint16_t* p, int64_t i) {
  return __builtin_bit_cast(float, static_cast<uint32_t>(p[i]) << 16);
}
TRELLIS_INLINE void store(float* p, int64_t i, float v) { p[i] = v; }
TRELLIS_INLINE void store(uint16_t* p, int64_t i, float v) {
  const uint32_t u = __builtin_bit_cast(uint32_t, v);
  const uint32_t rounded = (u + 0x7fffU + ((u >> 16) & 1U)) >> 16;
  const uint32_t nan = 0U - static_cast<uint32_t>((u & 0x7fffffffU) > 0x7f800000U);  // a mask
  p[i] = static_cast<uint16_t>((((u >> 16) | 0x40U) & nan) | (rounded & ~nan));
}

}  // namespace trellis::bf16_bits
