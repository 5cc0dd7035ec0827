#include "optim/adam_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

// The loop is compiled for AVX-512, AVX2 and the baseline and picked by the running CPU
// (GCC/Clang on x86-64; elsewhere the baseline only). The file is built with -fno-math-errno
// (optim/CMakeLists.txt) so that sqrt vectorises.
#if defined(__x86_64__) && defined(__GNUC__)
#define TRELLIS_X86_CLONES 1
#define TRELLIS_TARGET(isa) __attribute__((target(isa)))
#else
#define TRELLIS_TARGET(isa)
#endif

namespace trellis {
namespace {

// One slice [lo, hi) of one tensor. The float expressions follow torch's in-place ops
// (mul_/add_, mul_/addcmul_, sqrt/add_, addcdiv_) up to fused multiply-adds.
inline __attribute__((always_inline)) void adam_body(const AdamKernelTensor& t, int64_t lo,
                                                     int64_t hi) {
  const AdamKernelArgs a = t.args;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict m = t.exp_avg;
  float* __restrict v = t.exp_avg_sq;
  const float b1 = a.beta1, b2 = a.beta2, c1 = a.one_minus_beta1,
              c2 = a.one_minus_beta2;
  const float scale = a.grad_scale, eps = a.eps, step = -a.step_size;
  if (a.torch_adamw) {
    const float keep = a.one_minus_wd_lr, bc2 = a.bc2_sqrt;
    for (int64_t i = lo; i < hi; ++i) {
      const float gi = g[i] * scale;
      const float mi = m[i] * b1 + c1 * gi;
      const float vi = v[i] * b2 + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * keep + step * (mi / (std::sqrt(vi) / bc2 + eps));
    }
  } else {
    const float decay = -a.wd_lr;
    for (int64_t i = lo; i < hi; ++i) {
      const float gi = g[i] * scale;
      const float mi = m[i] * b1 + c1 * gi;
      const float vi = v[i] * b2 + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const float pi = p[i] + decay * p[i];
      p[i] = pi + step * (mi / (std::sqrt(vi) + eps));
    }
  }
}

void run_base(const AdamKernelTensor& t, int64_t lo, int64_t hi) { adam_body(t, lo, hi); }
#ifdef TRELLIS_X86_CLONES
TRELLIS_TARGET("avx2,fma")
void run_avx2(const AdamKernelTensor& t, int64_t lo, int64_t hi) { adam_body(t, lo, hi); }
TRELLIS_TARGET("avx512f,avx512vl,avx512dq,fma")
void run_avx512(const AdamKernelTensor& t, int64_t lo, int64_t hi) { adam_body(t, lo, hi); }
#endif

using Runner = void (*)(const AdamKernelTensor&, int64_t, int64_t);

Runner pick() {
#ifdef TRELLIS_X86_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma"))
    return run_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return run_avx2;
#endif
  return run_base;
}

constexpr int64_t kChunk = 1 << 14;  // elements per work item

}  // namespace

void adam_update(const std::vector<AdamKernelTensor>& tensors) {
  static const Runner run = pick();
  // Work items of at most kChunk elements over all tensors, so the many small tensors (biases,
  // norms) share one parallel region with the large ones.
  struct Item {
    size_t tensor;
    int64_t lo, hi;
  };
  std::vector<Item> items;
  for (size_t k = 0; k < tensors.size(); ++k)
    for (int64_t lo = 0; lo < tensors[k].n; lo += kChunk)
      items.push_back({k, lo, std::min(tensors[k].n, lo + kChunk)});
  at::parallel_for(0, static_cast<int64_t>(items.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e; ++j) run(tensors[items[j].tensor], items[j].lo, items[j].hi);
  });
}

}  // namespace trellis
