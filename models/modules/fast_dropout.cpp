#include "models/modules/fast_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cmath>
#include <mutex>

namespace trellis {
namespace {

// splitmix64's finaliser: a bijective 64-bit mix, statistically uniform for counter inputs.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

}  // namespace

at::Tensor dropout_mask(const at::Tensor& like, double p) {
  RECORD_FUNCTION("trellis::dropout_mask", std::vector<c10::IValue>());  // for the profiler
  TORCH_CHECK(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1), got ", p);
  at::Tensor mask = at::empty(like.sizes(), like.options().memory_format(at::MemoryFormat::Contiguous));
  const uint64_t seed = next_seed();
  // keep element i when its 32-bit draw u_i >= p * 2^32 (probability 1 - p, to 2^-32)
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(p, 32));
  const int64_t n = mask.numel();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "dropout_mask", [&] {
    scalar_t* m = mask.data_ptr<scalar_t>();
    const scalar_t keep = static_cast<scalar_t>(1.0 / (1.0 - p)), drop = static_cast<scalar_t>(0);
    // one 64-bit hash gives the draws of elements 2j and 2j+1
    at::parallel_for(0, (n + 1) / 2, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        const uint64_t h = mix64(seed + static_cast<uint64_t>(j) * 0x9e3779b97f4a7c15ULL);
        m[2 * j] = (h & 0xffffffffULL) >= threshold ? keep : drop;
        if (2 * j + 1 < n) m[2 * j + 1] = (h >> 32) >= threshold ? keep : drop;
      }
    });
  });
  return mask;
}

// x: any float -> same shape and dtype
at::Tensor FastDropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ <= 0.0) return x;
  if (p_ >= 1.0) return x * 0.0;
  at::Tensor keep;
  {
    torch::NoGradGuard ng;
    keep = dropout_mask(x, p_);
  }
  return x * keep;
}

}  // namespace trellis
