#include "models/modules/bf16_layer_norm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/cpu_dispatch.h"  // the AVX-512 / AVX2 / baseline variants of the loops
#include "core/parallel_kernel.h"  // at::parallel_for, with the -fopenmp check
#include "models/modules/bf16_bits.h"

namespace trellis {
namespace {

using bf16_bits::load;
using bf16_bits::store;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per block of the weight and bias gradients; fixed, so the sums do not depend on threads.
constexpr int64_t kGradRows = 32;

struct Rows {
  int64_t D;
  float eps;
};

// Rows [lo, hi) of x (N, D) -> y (N, D), mean and rstd (N).
TRELLIS_INLINE void forward_rows(const uint16_t* __restrict x, const float* __restrict w,
                                 const float* __restrict b, uint16_t* __restrict y,
                                 float* __restrict mean, float* __restrict rstd, Rows r,
                                 int64_t lo, int64_t hi) {
  for (int64_t n = lo; n < hi; ++n) {
    const uint16_t* xr = x + n * r.D;
    uint16_t* yr = y + n * r.D;
    float s = 0.0f;
    for (int64_t d = 0; d < r.D; ++d) s += load(xr, d);
    const float m = s / static_cast<float>(r.D);
    float v = 0.0f;
    for (int64_t d = 0; d < r.D; ++d) {
      const float t = load(xr, d) - m;
      v += t * t;
    }
    const float inv = 1.0f / std::sqrt(v / static_cast<float>(r.D) + r.eps);
    for (int64_t d = 0; d < r.D; ++d) store(yr, d, (load(xr, d) - m) * inv * w[d] + b[d]);
    mean[n] = m;
    rstd[n] = inv;
  }
}

// Rows [lo, hi): the input gradient gx, and the partial weight and bias gradients of the rows
// added to part (2, D): part[0] += g * xhat, part[1] += g.
TRELLIS_INLINE void backward_rows(const uint16_t* __restrict g, const uint16_t* __restrict x,
                                  const float* __restrict w, const float* __restrict mean,
                                  const float* __restrict rstd, uint16_t* __restrict gx,
                                  float* __restrict part, Rows r, int64_t lo, int64_t hi) {
  float* pw = part;
  float* pb = part + r.D;
  for (int64_t n = lo; n < hi; ++n) {
    const uint16_t* gr = g + n * r.D;
    const uint16_t* xr = x + n * r.D;
    const float m = mean[n], inv = rstd[n];
    float sg = 0.0f, sgx = 0.0f;  // sum of g * w and of g * w * xhat over the row
    for (int64_t d = 0; d < r.D; ++d) {
      const float gd = load(gr, d), xh = (load(xr, d) - m) * inv;
      const float gw = gd * w[d];
      sg += gw;
      sgx += gw * xh;
      pw[d] += gd * xh;
      pb[d] += gd;
    }
    const float a = sg / static_cast<float>(r.D), c = sgx / static_cast<float>(r.D);
    uint16_t* out = gx + n * r.D;
    for (int64_t d = 0; d < r.D; ++d) {
      const float xh = (load(xr, d) - m) * inv;
      store(out, d, inv * (load(gr, d) * w[d] - a - xh * c));
    }
  }
}

struct Args {
  const uint16_t *a, *b;
  const float *w, *bias, *mean, *rstd;
  uint16_t* out;
  float *m_out, *r_out, *part;
};

// One function per (loop, ISA); Loop 0: forward_rows, 1: backward_rows.
template <int Loop>
TRELLIS_INLINE void body(const Args& q, Rows r, int64_t lo, int64_t hi) {
  if constexpr (Loop == 0) forward_rows(q.a, q.w, q.bias, q.out, q.m_out, q.r_out, r, lo, hi);
  if constexpr (Loop == 1) backward_rows(q.a, q.b, q.w, q.mean, q.rstd, q.out, q.part, r, lo, hi);
}
template <int Loop>
void run_base(const Args& q, Rows r, int64_t lo, int64_t hi) {
  body<Loop>(q, r, lo, hi);
}
#ifdef TRELLIS_X86_CLONES
template <int Loop>
TRELLIS_TARGET(TRELLIS_AVX2)
void run_avx2(const Args& q, Rows r, int64_t lo, int64_t hi) {
  body<Loop>(q, r, lo, hi);
}
template <int Loop>
TRELLIS_TARGET(TRELLIS_AVX512)
void run_avx512(const Args& q, Rows r, int64_t lo, int64_t hi) {
  body<Loop>(q, r, lo, hi);
}
#endif
template <int Loop>
void run(const Args& q, Rows r, int64_t lo, int64_t hi) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return run_avx512<Loop>(q, r, lo, hi);
  if (cpu_isa() == 1) return run_avx2<Loop>(q, r, lo, hi);
#endif
  run_base<Loop>(q, r, lo, hi);
}

const uint16_t* bits(const at::Tensor& t) {
  return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>());
}
uint16_t* bits_out(at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()); }

struct Bf16LayerNorm : torch::autograd::Function<Bf16LayerNorm> {
  // x: (N, D) bf16 contiguous; weight, bias: (D) float32 contiguous
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, double eps) {
    const int64_t N = x.size(0), D = x.size(1);
    at::Tensor y = at::empty_like(x);
    at::Tensor mean = at::empty({N}, weight.options()), rstd = at::empty({N}, weight.options());
    Args q{bits(x), nullptr, weight.data_ptr<float>(), bias.data_ptr<float>(), nullptr, nullptr,
           bits_out(y), mean.data_ptr<float>(), rstd.data_ptr<float>(), nullptr};
    const Rows r{D, static_cast<float>(eps)};
    at::parallel_for(0, N, 8, [&](int64_t lo, int64_t hi) { run<0>(q, r, lo, hi); });
    ctx->save_for_backward({x, weight, mean, rstd});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1], &mean = saved[2], &rstd = saved[3];
    const at::Tensor g = grad[0].to(at::kBFloat16).contiguous();
    const int64_t N = x.size(0), D = x.size(1);
    const int64_t blocks = (N + kGradRows - 1) / kGradRows;
    at::Tensor gx = at::empty_like(x);
    at::Tensor parts = at::zeros({std::max<int64_t>(blocks, 1), 2, D}, weight.options());
    Args q{bits(g), bits(x), weight.data_ptr<float>(), nullptr, mean.data_ptr<float>(),
           rstd.data_ptr<float>(), bits_out(gx), nullptr, nullptr, parts.data_ptr<float>()};
    const Rows r{D, 0.0f};
    at::parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        Args qi = q;
        qi.part = q.part + i * 2 * D;
        run<1>(qi, r, i * kGradRows, std::min(N, (i + 1) * kGradRows));
      }
    });
    at::Tensor total = parts[0].clone();  // (2, D): blocks summed in block order
    float* tp = total.data_ptr<float>();
    const float* pp = parts.data_ptr<float>();
    for (int64_t i = 1; i < blocks; ++i)
      for (int64_t j = 0; j < 2 * D; ++j) tp[j] += pp[i * 2 * D + j];
    return {gx, total[0], total[1], at::Tensor()};
  }
};

}  // namespace

at::Tensor bf16_layer_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                           double eps) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kBFloat16 && x.dim() >= 1,
              "bf16_layer_norm: x must be bf16 on the CPU, got ", x.scalar_type(), " ",
              x.sizes());
  const int64_t D = x.size(-1);
  TORCH_CHECK(weight.defined() && bias.defined() && weight.scalar_type() == at::kFloat &&
                  bias.scalar_type() == at::kFloat && weight.numel() == D && bias.numel() == D,
              "bf16_layer_norm: weight and bias must be float32 of ", D, " elements");
  const at::Tensor x2 = x.reshape({-1, D}).contiguous();
  const at::Tensor w = weight.contiguous(), b = bias.contiguous();
  return Bf16LayerNorm::apply(x2, w, b, eps).view(x.sizes());
}

}  // namespace trellis
