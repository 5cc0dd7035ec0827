#include "models/modules/depthwise_conv_tbc.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/parallel_kernel.h"  // at::parallel_for, with the -fopenmp check
#include "core/cpu_dispatch.h"  // the AVX-512 / AVX2 / baseline variants of the loops

namespace trellis {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// sizes, and the element strides of t and b (the same for x, y and the gradients; c's is 1)
struct Shape {
  int64_t T, B, C, K, P;
  int64_t st, sb;
  int64_t row(int64_t t, int64_t b) const { return t * st + b * sb; }
};

// Channels per register block: 64 floats are 8 AVX2 or 4 AVX-512 accumulators.
constexpr int64_t kLanes = 64;
// Rows (t, b) per block of the weight gradient; fixed, so the sums do not depend on threads.
constexpr int64_t kGradRows = 64;

// y rows [lo, hi) (row r = t * B + b): y[t, b, c] = bias[c] + sum_k w[k, c] * x[t + k - P, b, c]
// over the k that stay inside [0, T). w: (K, C), k-major; bias: C floats or nullptr.
TRELLIS_INLINE void conv_rows(const float* __restrict x, const float* __restrict w,
                              const float* __restrict bias, float* __restrict y, Shape s,
                              int64_t lo, int64_t hi) {
  for (int64_t r = lo; r < hi; ++r) {
    const int64_t t = r / s.B, b = r % s.B;
    const int64_t k0 = std::max<int64_t>(0, s.P - t), k1 = std::min(s.K, s.T + s.P - t);
    float* yr = y + s.row(t, b);
    int64_t c = 0;
    for (; c + kLanes <= s.C; c += kLanes) {
      float acc[kLanes];
      for (int64_t j = 0; j < kLanes; ++j) acc[j] = bias ? bias[c + j] : 0.0f;
      for (int64_t k = k0; k < k1; ++k) {
        const float* xr = x + s.row(t + k - s.P, b) + c;
        const float* wk = w + k * s.C + c;
        for (int64_t j = 0; j < kLanes; ++j) acc[j] += wk[j] * xr[j];
      }
      for (int64_t j = 0; j < kLanes; ++j) yr[c + j] = acc[j];
    }
    for (; c < s.C; ++c) {
      float acc = bias ? bias[c] : 0.0f;
      for (int64_t k = k0; k < k1; ++k) acc += w[k * s.C + c] * x[s.row(t + k - s.P, b) + c];
      yr[c] = acc;
    }
  }
}

// The partial weight and bias gradients of rows [lo, hi): part (K + 1, C), zeroed by the caller;
// part[k, c] += g[t, b, c] * x[t + k - P, b, c], part[K, c] += g[t, b, c].
TRELLIS_INLINE void grad_rows(const float* __restrict g, const float* __restrict x,
                              float* __restrict part, Shape s, int64_t lo, int64_t hi) {
  float* pb = part + s.K * s.C;
  for (int64_t r = lo; r < hi; ++r) {
    const int64_t t = r / s.B, b = r % s.B;
    const int64_t k0 = std::max<int64_t>(0, s.P - t), k1 = std::min(s.K, s.T + s.P - t);
    const float* gr = g + s.row(t, b);
    for (int64_t c = 0; c < s.C; ++c) pb[c] += gr[c];
    for (int64_t k = k0; k < k1; ++k) {
      const float* xr = x + s.row(t + k - s.P, b);
      float* pk = part + k * s.C;
      for (int64_t c = 0; c < s.C; ++c) pk[c] += gr[c] * xr[c];
    }
  }
}

// One function per (loop, ISA); Loop 0: conv_rows (a = x, b = w, c = bias, out = y),
// 1: grad_rows (a = g, b = x, out = part).
template <int Loop>
TRELLIS_INLINE void body(const float* a, const float* b, const float* c, float* out, Shape s,
                         int64_t lo, int64_t hi) {
  if constexpr (Loop == 0) conv_rows(a, b, c, out, s, lo, hi);
  if constexpr (Loop == 1) grad_rows(a, b, out, s, lo, hi);
}
template <int Loop>
void run_base(const float* a, const float* b, const float* c, float* out, Shape s, int64_t lo,
              int64_t hi) {
  body<Loop>(a, b, c, out, s, lo, hi);
}
#ifdef TRELLIS_X86_CLONES
template <int Loop>
TRELLIS_TARGET(TRELLIS_AVX2)
void run_avx2(const float* a, const float* b, const float* c, float* out, Shape s, int64_t lo,
              int64_t hi) {
  body<Loop>(a, b, c, out, s, lo, hi);
}
template <int Loop>
TRELLIS_TARGET(TRELLIS_AVX512)
void run_avx512(const float* a, const float* b, const float* c, float* out, Shape s, int64_t lo,
                int64_t hi) {
  body<Loop>(a, b, c, out, s, lo, hi);
}
#endif
template <int Loop>
void run(const float* a, const float* b, const float* c, float* out, Shape s, int64_t lo,
         int64_t hi) {
#ifdef TRELLIS_X86_CLONES
  if (cpu_isa() == 2) return run_avx512<Loop>(a, b, c, out, s, lo, hi);
  if (cpu_isa() == 1) return run_avx2<Loop>(a, b, c, out, s, lo, hi);
#endif
  run_base<Loop>(a, b, c, out, s, lo, hi);
}

Shape shape_of(const at::Tensor& x, const at::Tensor& weight) {
  const int64_t K = weight.size(2);
  return {x.size(0), x.size(1), x.size(2), K, (K - 1) / 2, x.stride(0), x.stride(1)};
}

// x: (T, B, C) float32 -> x itself when its channels are contiguous and its rows do not
// overlap (a (T, B, C) tensor or the transpose of a (B, T, C) one), else a contiguous copy
at::Tensor rows_of_channels(const at::Tensor& x) {
  const at::Tensor xf = x.to(at::kFloat);
  const bool ok = xf.stride(2) == 1 && xf.is_non_overlapping_and_dense();
  return ok ? xf : xf.contiguous();
}

// g: the output's gradient -> float32 with x's strides (the loops index both alike)
at::Tensor like(const at::Tensor& g, const at::Tensor& x) {
  const at::Tensor gf = g.to(at::kFloat);
  return gf.strides() == x.strides() ? gf : at::empty_like(x).copy_(gf);
}

// weight (C, 1, K) -> (K, C), reversed along k when `flip` (the input gradient's kernel)
at::Tensor k_major(const at::Tensor& weight, bool flip) {
  at::Tensor w = weight.reshape({weight.size(0), weight.size(2)});
  if (flip) w = w.flip({1});
  return w.t().contiguous();
}

// x: (T, B, C) float32 with the strides of s; w_kc: (K, C); bias: (C) or undefined
// -> (T, B, C) with x's strides
at::Tensor conv_forward(const at::Tensor& x, const at::Tensor& w_kc, const at::Tensor& bias,
                        Shape s) {
  at::Tensor y = at::empty_like(x);
  const float* xp = x.data_ptr<float>();
  const float* wp = w_kc.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* yp = y.data_ptr<float>();
  at::parallel_for(0, s.T * s.B, 16, [&](int64_t lo, int64_t hi) {
    run<0>(xp, wp, bp, yp, s, lo, hi);
  });
  return y;
}

// g, x: (T, B, C) float32 with the strides of s -> (K + 1, C): the weight gradient k-major,
// then the bias gradient; blocks of kGradRows rows summed in block order
at::Tensor weight_grad(const at::Tensor& g, const at::Tensor& x, Shape s) {
  const int64_t rows = s.T * s.B, blocks = (rows + kGradRows - 1) / kGradRows;
  if (blocks == 0) return at::zeros({s.K + 1, s.C}, x.options());
  at::Tensor parts = at::zeros({blocks, s.K + 1, s.C}, x.options());
  const float* gp = g.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  float* pp = parts.data_ptr<float>();
  const int64_t stride = (s.K + 1) * s.C;
  at::parallel_for(0, blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      run<1>(gp, xp, nullptr, pp + i * stride, s, i * kGradRows,
             std::min(rows, (i + 1) * kGradRows));
  });
  at::Tensor total = parts[0].clone();
  float* tp = total.data_ptr<float>();
  for (int64_t i = 1; i < blocks; ++i) {
    const float* src = pp + i * stride;
    for (int64_t j = 0; j < stride; ++j) tp[j] += src[j];
  }
  return total;
}

struct DepthwiseConvTbc : torch::autograd::Function<DepthwiseConvTbc> {
  // bias: (C), or (0) for none (apply() takes defined tensors only)
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias"] = bias.numel() > 0;
    return conv_forward(x, k_major(weight, false), bias.numel() ? bias : at::Tensor(),
                        shape_of(x, weight));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& weight = saved[1];
    const Shape s = shape_of(x, weight);
    const at::Tensor g = like(grad[0], x);
    // the input gradient is the same convolution with the kernel reversed (K odd: same padding)
    at::Tensor gx = conv_forward(g, k_major(weight, true), at::Tensor(), s);
    const at::Tensor wb = weight_grad(g, x, s);  // (K + 1, C)
    at::Tensor gw = wb.narrow(0, 0, s.K).t().reshape(weight.sizes()).contiguous();
    at::Tensor gb = ctx->saved_data["bias"].toBool() ? wb[s.K].clone() : at::Tensor();
    return {gx, gw, gb};
  }
};

}  // namespace

at::Tensor depthwise_conv1d_tbc(const at::Tensor& x, const at::Tensor& weight,
                                const at::Tensor& bias) {
  TORCH_CHECK(x.dim() == 3, "depthwise_conv1d_tbc: x must be (T, B, C), got ", x.sizes());
  const int64_t C = x.size(2);
  TORCH_CHECK(weight.dim() == 3 && weight.size(0) == C && weight.size(1) == 1 &&
                  weight.size(2) % 2 == 1,
              "depthwise_conv1d_tbc: weight must be (C, 1, K) with C = ", C,
              " and K odd, got ", weight.sizes());
  TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == C),
              "depthwise_conv1d_tbc: bias must be (", C, "), got ", bias.sizes());
  const bool here = x.device().is_cpu() && weight.scalar_type() == at::kFloat &&
                    (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
                    (!bias.defined() || bias.scalar_type() == at::kFloat);
  if (!here) {
    const int64_t P = (weight.size(2) - 1) / 2;
    return at::conv1d(x.permute({1, 2, 0}), weight, bias, 1, P, 1, C)
        .permute({2, 0, 1})
        .contiguous();
  }
  const at::Tensor xf = rows_of_channels(x);
  const at::Tensor w = weight.contiguous();
  const bool grad = torch::GradMode::is_enabled() &&
                    (xf.requires_grad() || w.requires_grad() ||
                     (bias.defined() && bias.requires_grad()));
  if (grad) {
    const at::Tensor b = bias.defined() ? bias : at::empty({0}, w.options());
    return DepthwiseConvTbc::apply(xf, w, b);
  }
  return conv_forward(xf, k_major(w, false), bias, shape_of(xf, w));
}

}  // namespace trellis
