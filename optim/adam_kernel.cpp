#include "optim/adam_kernel.h"

#include <algorithm>
#include <cmath>

#include "core/parallel_kernel.h"  // at::parallel_for, with the -fopenmp check
// The AVX-512 / AVX2 / baseline variants of the loop. The file is built with -fno-math-errno
// (optim/CMakeLists.txt) so that sqrt vectorises.
#include "core/cpu_dispatch.h"

namespace trellis {
namespace {

// One slice [lo, hi) of one tensor. The float expressions follow torch's in-place ops
// (mul_/add_, mul_/addcmul_, sqrt/add_, addcdiv_) up to fused multiply-adds.
template <bool TorchAdamW>
TRELLIS_INLINE void adam_body(const AdamKernelTensor& t, int64_t lo, int64_t hi) {
  const AdamKernelArgs a = t.args;
  float* __restrict p = t.param;
  const float* __restrict g = t.grad;
  float* __restrict m = t.exp_avg;
  float* __restrict v = t.exp_avg_sq;
  const float b1 = a.beta1, b2 = a.beta2, c1 = a.one_minus_beta1, c2 = a.one_minus_beta2;
  const float scale = a.grad_scale, eps = a.eps, step = -a.step_size;
  const float keep = a.one_minus_wd_lr, bc2 = a.bc2_sqrt, decay = -a.wd_lr;
  for (int64_t i = lo; i < hi; ++i) {
    const float gi = g[i] * scale;
    const float mi = m[i] * b1 + c1 * gi;
    const float vi = v[i] * b2 + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if constexpr (TorchAdamW) {  // decay first, eps after the bias correction
      p[i] = p[i] * keep + step * (mi / (std::sqrt(vi) / bc2 + eps));
    } else {  // fairseq: decay, then eps before the bias correction (in step_size)
      const float pi = p[i] + decay * p[i];
      p[i] = pi + step * (mi / (std::sqrt(vi) + eps));
    }
  }
}

template <bool TorchAdamW>
void run_base(const AdamKernelTensor& t, int64_t lo, int64_t hi) {
  adam_body<TorchAdamW>(t, lo, hi);
}
#ifdef TRELLIS_X86_CLONES
template <bool TorchAdamW>
TRELLIS_TARGET(TRELLIS_AVX2)
void run_avx2(const AdamKernelTensor& t, int64_t lo, int64_t hi) {
  adam_body<TorchAdamW>(t, lo, hi);
}
template <bool TorchAdamW>
TRELLIS_TARGET(TRELLIS_AVX512)
void run_avx512(const AdamKernelTensor& t, int64_t lo, int64_t hi) {
  adam_body<TorchAdamW>(t, lo, hi);
}
#endif

template <bool TorchAdamW>
void run(const AdamKernelTensor& t, int64_t lo, int64_t hi) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return run_avx512<TorchAdamW>(t, lo, hi);
  if (cpu_isa() == 1) return run_avx2<TorchAdamW>(t, lo, hi);
#endif
  run_base<TorchAdamW>(t, lo, hi);
}

constexpr int64_t kChunk = 1 << 14;  // elements per work item

}  // namespace

void adam_update(const std::vector<AdamKernelTensor>& tensors) {
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
    for (int64_t j = b; j < e; ++j) {
      const AdamKernelTensor& t = tensors[items[j].tensor];
      if (t.args.torch_adamw) {
        run<true>(t, items[j].lo, items[j].hi);
      } else {
        run<false>(t, items[j].lo, items[j].hi);
      }
    }
  });
}

}  // namespace trellis
