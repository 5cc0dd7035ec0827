#include "models/modules/dropout_kernels.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/parallel_kernel.h"  // at::parallel_for, with the -fopenmp check
#include "core/cpu_dispatch.h"  // the AVX-512 / AVX2 / baseline variants of the loops
#include "models/modules/bf16_bits.h"

namespace trellis {
namespace {

// Chris Wellons' lowbias32: a bijective 32-bit mix with low bias; two rounds keyed by the two
// halves of the seed decorrelate calls and neighbouring elements.
TRELLIS_INLINE uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct MaskKey {
  uint32_t k0, k1;     // the seed's halves (k1 also folds in the index's high 32 bits)
  uint32_t threshold;  // keep when the draw >= threshold = round(p * 2^32)
  float scale;         // 1 / (1 - p)
};

TRELLIS_INLINE bool keep(uint32_t i, const MaskKey& k) {
  return mix32(mix32(i + k.k0) ^ k.k1) >= k.threshold;
}

// v when element i is kept, else +0. A bit mask, not a branch: with a conditional GCC's
// if-conversion fails for AVX2 and the loops stay scalar (seen: 4-5x slower than vectorised).
TRELLIS_INLINE float masked(uint32_t i, const MaskKey& k, float v) {
  const uint32_t all = 0U - static_cast<uint32_t>(keep(i, k));
  return __builtin_bit_cast(float, __builtin_bit_cast(uint32_t, v) & all);
}

using bf16_bits::load;
using bf16_bits::store;

// exp(x) for the sigmoid, vectorisable (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, degree-5
// polynomial, 2^n from the exponent bits; ~1 ulp); x clamped to +-88.376 (the result stays
// finite; below, 0)
TRELLIS_INLINE float exp_vec(float x) {
  x = x < -88.3762626647949f ? -88.3762626647949f : x;  // selects by value (std::min/max's
  x = x > 88.3762626647949f ? 88.3762626647949f : x;    // references stay branches on AVX2)
  float n = x * 1.44269504088896341f + 12582912.0f;  // round(x / ln2) via 1.5 * 2^23
  n -= 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float q = 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  const float e = q * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  return e * __builtin_bit_cast(float, bits);
}

TRELLIS_INLINE float sigmoid_vec(float x) { return 1.0f / (1.0f + exp_vec(-x)); }

// The three loops over [0, n) of one block; `first` is the block's index of element 0.
template <class T>
TRELLIS_INLINE void dropout_body(const T* x, T* y, int64_t n, uint32_t first, MaskKey k) {
  uint32_t j = first;  // the element's index, a 32-bit induction (64-bit lanes cost shuffles)
  for (int64_t i = 0; i < n; ++i, ++j) store(y, i, masked(j, k, load(x, i) * k.scale));
}
template <class T>
TRELLIS_INLINE void silu_body(const T* x, T* y, int64_t n, uint32_t first, MaskKey k) {
  uint32_t j = first;
  for (int64_t i = 0; i < n; ++i, ++j) {
    const float v = load(x, i);
    const float s = v * sigmoid_vec(v) * k.scale;
    store(y, i, masked(j, k, s));
  }
}
template <class T>
TRELLIS_INLINE void silu_grad_body(const T* g, const T* x, T* y, int64_t n, uint32_t first,
                                   MaskKey k) {
  uint32_t j = first;
  for (int64_t i = 0; i < n; ++i, ++j) {
    const float v = load(x, i), s = sigmoid_vec(v);
    const float d = load(g, i) * k.scale * (s * (1.0f + v * (1.0f - s)));  // silu'(v)
    store(y, i, masked(j, k, d));
  }
}

// One function per (kernel, dtype, ISA); Kernel 0: dropout, 1: silu, 2: silu backward.
template <int Kernel, class T>
TRELLIS_INLINE void run_body(const T* a, const T* b, T* y, int64_t n, uint32_t f, MaskKey k) {
  if constexpr (Kernel == 0) dropout_body(a, y, n, f, k);
  if constexpr (Kernel == 1) silu_body(a, y, n, f, k);
  if constexpr (Kernel == 2) silu_grad_body(a, b, y, n, f, k);
}
template <int Kernel, class T>
void run_base(const T* a, const T* b, T* y, int64_t n, uint32_t f, MaskKey k) {
  run_body<Kernel>(a, b, y, n, f, k);
}
#ifdef TRELLIS_X86_CLONES
template <int Kernel, class T>
TRELLIS_TARGET(TRELLIS_AVX2)
void run_avx2(const T* a, const T* b, T* y, int64_t n, uint32_t f, MaskKey k) {
  run_body<Kernel>(a, b, y, n, f, k);
}
template <int Kernel, class T>
TRELLIS_TARGET(TRELLIS_AVX512)
void run_avx512(const T* a, const T* b, T* y, int64_t n, uint32_t f, MaskKey k) {
  run_body<Kernel>(a, b, y, n, f, k);
}
#endif

template <int Kernel, class T>
void run(const T* a, const T* b, T* y, int64_t n, uint32_t f, MaskKey k) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return run_avx512<Kernel>(a, b, y, n, f, k);
  if (cpu_isa() == 1) return run_avx2<Kernel>(a, b, y, n, f, k);
#endif
  run_base<Kernel>(a, b, y, n, f, k);
}

MaskKey make_key(uint64_t seed, double p) {
  MaskKey k;
  k.k0 = static_cast<uint32_t>(seed);
  k.k1 = static_cast<uint32_t>(seed >> 32);
  k.threshold = static_cast<uint32_t>(std::min(std::ldexp(p, 32), 4294967295.0));
  k.scale = static_cast<float>(1.0 / (1.0 - p));
  return k;
}

// y = kernel(a[, b]) over contiguous float32 or bfloat16 inputs of one dtype (others via float32)
template <int Kernel>
at::Tensor launch(const at::Tensor& a_in, const at::Tensor& b_in, uint64_t seed, double p) {
  const auto dtype = a_in.scalar_type();
  if (dtype != at::kFloat && dtype != at::kBFloat16) {
    const auto b32 = b_in.defined() ? b_in.to(at::kFloat) : b_in;
    return launch<Kernel>(a_in.to(at::kFloat), b32, seed, p).to(dtype);
  }
  const at::Tensor a = a_in.contiguous();
  const at::Tensor b = b_in.defined() ? b_in.to(dtype).contiguous() : b_in;
  at::Tensor y = at::empty_like(a, at::MemoryFormat::Contiguous);
  const MaskKey key = make_key(seed, p);
  const int64_t n = a.numel();
  // blocks of 2^32 elements share the index's high half, folded into k1
  for (int64_t base = 0; base < n; base += (int64_t{1} << 32)) {
    MaskKey k = key;
    k.k1 ^= mix32(static_cast<uint32_t>(static_cast<uint64_t>(base) >> 32));
    const int64_t len = std::min(n - base, int64_t{1} << 32);
    at::parallel_for(0, len, 1 << 14, [&](int64_t lo, int64_t hi) {
      const int64_t o = base + lo;
      const auto first = static_cast<uint32_t>(lo);
      if (dtype == at::kFloat) {
        const float* bp = b.defined() ? b.data_ptr<float>() + o : nullptr;
        run<Kernel>(a.data_ptr<float>() + o, bp, y.data_ptr<float>() + o, hi - lo, first, k);
      } else {
        auto bits = [](const at::Tensor& t) {
          return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>());
        };
        const uint16_t* bp = b.defined() ? bits(b) + o : nullptr;
        run<Kernel>(bits(a) + o, bp, bits(y) + o, hi - lo, first, k);
      }
    });
  }
  return y;
}

}  // namespace

at::Tensor dropout_apply(const at::Tensor& x, uint64_t seed, double p) {
  return launch<0>(x, at::Tensor(), seed, p);
}

at::Tensor silu_dropout_forward(const at::Tensor& x, uint64_t seed, double p) {
  return launch<1>(x, at::Tensor(), seed, p);
}

at::Tensor silu_dropout_backward(const at::Tensor& grad, const at::Tensor& x, uint64_t seed,
                                 double p) {
  return launch<2>(grad, x, seed, p);
}

}  // namespace trellis
