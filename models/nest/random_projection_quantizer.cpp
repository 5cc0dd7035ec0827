#include "models/nest/random_projection_quantizer.h"

#include <torch/torch.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace trellis {

RandomProjectionQuantizerImpl::RandomProjectionQuantizerImpl(
    const RandomProjectionQuantizerOptions& options)
    : options_(options) {
  const auto& o = options_;
  TRELLIS_CHECK(o.feat_in > 0 && o.code_dim > 0 && o.num_classes > 0 && o.num_books > 0 &&
                    o.combine_time_steps > 0,
                ConfigError,
                "random projection quantizer: feat_in {}, code_dim {}, num_classes {}, num_books "
                "{} and combine_time_steps {} must all be positive",
                o.feat_in, o.code_dim, o.num_classes, o.num_books, o.combine_time_steps);
  // NeMo: nn.Linear (its own kaiming init draws first), then xavier_normal_.
  proj = register_module(
      "proj", torch::nn::Linear(torch::nn::LinearOptions(o.feat_in * o.combine_time_steps,
                                                         o.num_books * o.code_dim)
                                    .bias(false)));
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_normal_(proj->weight);
  proj->weight.set_requires_grad(false);
  // NeMo: torch.randn(...).double(), then normal_(0, 1) again in float64, then F.normalize.
  at::Tensor cb = torch::randn({o.num_books, o.num_classes, o.code_dim}).to(at::kDouble);
  cb.normal_(0.0, 1.0);
  cb = cb / cb.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
  codebooks = register_parameter("codebooks", cb, /*requires_grad=*/false);
}

QuantizerOutput RandomProjectionQuantizerImpl::forward(const at::Tensor& feats) {
  const auto& o = options_;
  TRELLIS_CHECK(feats.dim() == 3 && feats.size(2) == o.feat_in, DataError,
                "random projection quantizer: features must be (B, T, {}), got [{}]", o.feat_in,
                fmt::join(feats.sizes(), ", "));
  const int64_t B = feats.size(0), T = feats.size(1);
  TRELLIS_CHECK(T % o.combine_time_steps == 0, DataError,
                "random projection quantizer: {} frames are not a multiple of "
                "combine_time_steps {}",
                T, o.combine_time_steps);
  torch::NoGradGuard no_grad;
  const int64_t Tq = T / o.combine_time_steps, G = o.num_books, D = o.code_dim;
  const int64_t C = o.num_classes;
  // (B, T, F) -> (B, T', F*c): frame 0's F values, then frame 1's, ...
  at::Tensor stacked = feats.to(proj->weight.scalar_type()).contiguous().reshape({B, Tq, -1});
  at::Tensor x = proj->forward(stacked).view({B * Tq, G, D});
  x = x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);  // F.normalize, float32
  const int64_t N = B * Tq;
  at::Tensor tokens = at::empty({N, G}, feats.options().dtype(at::kLong));
  if (o.distance == CodeDistance::kCosine) {
    // (N, G, D) x (G, C, D) -> (N, G, C) dot products in float64
    at::Tensor dots = at::einsum("ngd,gcd->ngc", {x.to(at::kDouble), codebooks});
    tokens.copy_(std::get<1>(dots.max(-1)));
  } else {
    // NeMo computes |x - code| over code_dim for every class: (N, G, code_dim, C) doubles.
    // Here the squared distances come from a matmul, |x|^2 + |c|^2 - 2 x.c; a row whose best
    // class leads the next one by more than 1e-9 (rounding is ~1e-15) has the same argmin, and
    // the rare rows with a closer runner-up get NeMo's exact formula. Chunked over rows.
    at::Tensor cb_sq = codebooks.pow(2).sum(-1).unsqueeze(0);  // (1, G, C)
    const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 25) / std::max<int64_t>(1, G * C));
    for (int64_t s = 0; s < N; s += chunk) {
      const int64_t n = std::min(chunk, N - s);
      at::Tensor xd = x.narrow(0, s, n).to(at::kDouble);  // (n, G, D)
      at::Tensor sq = xd.pow(2).sum(-1, /*keepdim=*/true) + cb_sq -
                      2.0 * at::einsum("ngd,gcd->ngc", {xd, codebooks});  // (n, G, C)
      at::Tensor best = std::get<0>(sq.min(-1, /*keepdim=*/true));
      at::Tensor near = sq.le(best + 1e-9);                            // (n, G, C)
      tokens.narrow(0, s, n).copy_(near.to(at::kByte).argmax(-1));      // the first candidate
      at::Tensor ambiguous = near.sum(-1).gt(1).any(-1).nonzero().squeeze(-1);  // rows
      if (ambiguous.numel() == 0) continue;
      at::Tensor xa = x.narrow(0, s, n).index_select(0, ambiguous);  // (k, G, D) float32
      at::Tensor diff = xa.unsqueeze(-1) - codebooks.transpose(1, 2).unsqueeze(0);
      tokens.narrow(0, s, n).index_copy_(0, ambiguous, diff.norm(2, {-2}).argmin(-1));
    }
  }
  QuantizerOutput out;
  std::vector<at::Tensor> codes;
  for (int64_t g = 0; g < G; ++g)
    codes.push_back(codebooks.select(0, g).index_select(0, tokens.select(1, g)));  // (N, D)
  out.codes = at::stack(codes, 1).view({B, Tq, G, D});
  out.tokens = tokens.view({B, Tq, G});
  return out;
}

}  // namespace trellis
