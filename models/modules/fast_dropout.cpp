#include "models/modules/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cmath>
#include <mutex>

namespace trellis {
namespace {

// The hot loops are compiled three times, for AVX-512 (with BW: 16-bit lanes), AVX2 and the
// baseline, and picked by the running CPU (GCC/Clang on x86-64; elsewhere the baseline only).
#if defined(__x86_64__) && defined(__GNUC__)
#define TRELLIS_X86_CLONES 1
#define TRELLIS_TARGET(isa) __attribute__((target(isa)))
#else
#define TRELLIS_TARGET(isa)
#endif
#define TRELLIS_AVX512 "avx512f,avx512bw,avx512vl,avx512dq"

// Chris Wellons' lowbias32: a bijective 32-bit mix with low bias; two rounds keyed by the two
// halves of the seed decorrelate calls and neighbouring elements.
inline __attribute__((always_inline)) uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct MaskKey {
  uint32_t k0, k1;  // the seed's halves (k1 also folds in the index's high 32 bits)
  uint32_t threshold;  // keep when the draw >= threshold = round(p * 2^32)
  float scale;         // 1 / (1 - p)
};

inline __attribute__((always_inline)) bool keep(uint32_t i, uint32_t k0, uint32_t k1, uint32_t threshold) {
  return mix32(mix32(i + k0) ^ k1) >= threshold;
}

// y[i] = keep(first + i) ? x[i] * scale : 0, float32
inline __attribute__((always_inline)) void apply_f32_body(const float* x, float* y, int64_t n,
                                                          uint32_t first, MaskKey k) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = keep(first + static_cast<uint32_t>(i), k.k0, k.k1, k.threshold) ? x[i] * k.scale : 0.0f;
}

// bfloat16 as its 16 bits: y = round_to_nearest_even(float(x) * scale) or 0 (NaN stays NaN);
// branch-free so that the loop vectorises
inline __attribute__((always_inline)) void apply_bf16_body(const uint16_t* x, uint16_t* y,
                                                           int64_t n, uint32_t first, MaskKey k) {
  for (int64_t i = 0; i < n; ++i) {
    const float f = __builtin_bit_cast(float, static_cast<uint32_t>(x[i]) << 16) * k.scale;
    const uint32_t u = __builtin_bit_cast(uint32_t, f);
    const uint32_t rounded = (u + 0x7fffU + ((u >> 16) & 1U)) >> 16;
    const uint32_t v = (u & 0x7fffffffU) > 0x7f800000U ? ((u >> 16) | 0x40U) : rounded;
    y[i] = keep(first + static_cast<uint32_t>(i), k.k0, k.k1, k.threshold)
               ? static_cast<uint16_t>(v)
               : uint16_t{0};
  }
}

void apply_f32_base(const float* x, float* y, int64_t n, uint32_t f, MaskKey k) {
  apply_f32_body(x, y, n, f, k);
}
void apply_bf16_base(const uint16_t* x, uint16_t* y, int64_t n, uint32_t f, MaskKey k) {
  apply_bf16_body(x, y, n, f, k);
}
#ifdef TRELLIS_X86_CLONES
TRELLIS_TARGET("avx2,fma") void apply_f32_avx2(const float* x, float* y, int64_t n, uint32_t f,
                                               MaskKey k) {
  apply_f32_body(x, y, n, f, k);
}
TRELLIS_TARGET("avx2,fma") void apply_bf16_avx2(const uint16_t* x, uint16_t* y, int64_t n,
                                                uint32_t f, MaskKey k) {
  apply_bf16_body(x, y, n, f, k);
}
TRELLIS_TARGET(TRELLIS_AVX512) void apply_f32_avx512(const float* x, float* y, int64_t n,
                                                     uint32_t f, MaskKey k) {
  apply_f32_body(x, y, n, f, k);
}
TRELLIS_TARGET(TRELLIS_AVX512) void apply_bf16_avx512(const uint16_t* x, uint16_t* y, int64_t n,
                                                      uint32_t f, MaskKey k) {
  apply_bf16_body(x, y, n, f, k);
}
#endif

// 2: AVX-512 with BW/VL/DQ, 1: AVX2, 0: baseline
int cpu_isa() {
#ifdef TRELLIS_X86_CLONES
  static const int isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
      return 2;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
  }();
  return isa;
#else
  return 0;
#endif
}

void apply_f32(const float* x, float* y, int64_t n, uint32_t f, MaskKey k) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return apply_f32_avx512(x, y, n, f, k);
  if (cpu_isa() == 1) return apply_f32_avx2(x, y, n, f, k);
#endif
  apply_f32_base(x, y, n, f, k);
}

void apply_bf16(const uint16_t* x, uint16_t* y, int64_t n, uint32_t f, MaskKey k) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return apply_bf16_avx512(x, y, n, f, k);
  if (cpu_isa() == 1) return apply_bf16_avx2(x, y, n, f, k);
#endif
  apply_bf16_base(x, y, n, f, k);
}

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

MaskKey make_key(uint64_t seed, double p) {
  MaskKey k;
  k.k0 = static_cast<uint32_t>(seed);
  k.k1 = static_cast<uint32_t>(seed >> 32);
  k.threshold = static_cast<uint32_t>(std::min(std::ldexp(p, 32), 4294967295.0));
  k.scale = static_cast<float>(1.0 / (1.0 - p));
  return k;
}

// x * mask(seed, p) for a contiguous float or bfloat16 x; any other dtype through the mask.
at::Tensor apply_mask(const at::Tensor& x_in, uint64_t seed, double p) {
  const at::Tensor x = x_in.contiguous();
  const MaskKey key = make_key(seed, p);
  const auto dtype = x.scalar_type();
  if (dtype != at::kFloat && dtype != at::kBFloat16)
    return x * apply_mask(at::ones(x.sizes(), x.options().dtype(at::kFloat)), seed, p).to(dtype);
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  const int64_t n = x.numel();
  // blocks of 2^32 elements share the index's high half, folded into k1
  for (int64_t base = 0; base < n; base += (int64_t{1} << 32)) {
    MaskKey k = key;
    k.k1 ^= mix32(static_cast<uint32_t>(static_cast<uint64_t>(base) >> 32));
    const int64_t len = std::min(n - base, int64_t{1} << 32);
    at::parallel_for(0, len, 1 << 15, [&](int64_t b, int64_t e) {
      const auto first = static_cast<uint32_t>(b);
      if (dtype == at::kFloat)
        apply_f32(x.data_ptr<float>() + base + b, y.data_ptr<float>() + base + b, e - b, first, k);
      else
        apply_bf16(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()) + base + b,
                   reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()) + base + b, e - b,
                   first, k);
    });
  }
  return y;
}

// y = x * m / (1 - p); backward: dx = dy * m / (1 - p), m recomputed from the saved seed
struct DropoutFunction : public torch::autograd::Function<DropoutFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p,
                            int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return apply_mask(x, static_cast<uint64_t>(seed), p);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
    return {apply_mask(grad[0], seed, p), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor dropout_mask(const at::Tensor& like, double p) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1), got ", p);
  const uint64_t seed = next_seed();
  at::Tensor ones = at::ones(like.sizes(), like.options().memory_format(at::MemoryFormat::Contiguous));
  torch::NoGradGuard no_grad;
  return apply_mask(ones, seed, p);
}

at::Tensor dropout(const at::Tensor& x, double p) {
  RECORD_FUNCTION("trellis::dropout", std::vector<c10::IValue>());  // for the profiler
  TORCH_CHECK(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1), got ", p);
  const uint64_t seed = next_seed();
  if (!x.requires_grad() || !torch::GradMode::is_enabled()) return apply_mask(x, seed, p);
  return DropoutFunction::apply(x, p, static_cast<int64_t>(seed));
}

// x: any float -> same shape and dtype
at::Tensor FastDropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  if (p_ >= 1.0) return x * 0.0;
  return dropout(x, p_);
}

}  // namespace trellis
