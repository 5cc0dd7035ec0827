#include "models/nest/block_masking.h"

#include <torch/torch.h>

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace trellis {

BlockMaskingImpl::BlockMaskingImpl(const BlockMaskingOptions& options) : options_(options) {
  const auto& o = options_;
  TRELLIS_CHECK(o.feat_in > 0, ConfigError, "block masking: feat_in must be positive (got {})",
                o.feat_in);
  TRELLIS_CHECK(o.block_size > 0, ConfigError,
                "block masking: block_size must be positive (got {})", o.block_size);
  TRELLIS_CHECK(o.mask_prob >= 0.0 && o.mask_prob <= 1.0, ConfigError,
                "block masking: mask_prob must be in [0, 1] (got {})", o.mask_prob);
  torch::NoGradGuard no_grad;
  at::Tensor emb = torch::empty({o.feat_in});
  emb.normal_(0.0, 0.1);  // NeMo: nn.init.normal_(FloatTensor(feat_in), 0, 0.1)
  mask_embedding = register_parameter("mask_embedding", emb, /*requires_grad=*/false);
}

at::Tensor BlockMaskingImpl::draw_mask(const at::Tensor& lengths, int64_t T,
                                       at::Generator gen) const {
  const auto& o = options_;
  at::Tensor lens = lengths.to(at::kLong).cpu();
  const int64_t B = lens.size(0);
  const auto longs = at::TensorOptions().dtype(at::kLong);
  at::Tensor mask = at::zeros({B, T}, at::TensorOptions().dtype(at::kBool));
  for (int64_t i = 0; i < B; ++i) {
    const int64_t n = lens[i].item<int64_t>();
    int64_t block = o.block_size, offset = 0;
    at::Tensor starts;
    // NeMo compares in float64 on the overlap path (Python int * float) and in float32 on the
    // other (int64 tensor * float -> float32 tensor).
    const bool too_short =
        o.allow_overlap
            ? static_cast<double>(o.block_size) >= static_cast<double>(n) * o.max_mask_ratio
            : static_cast<float>(o.block_size) >=
                  static_cast<float>(n) * static_cast<float>(o.max_mask_ratio);
    if (too_short) {
      block = 8;
      starts = at::zeros({1}, longs);
    } else if (o.allow_overlap) {
      const int64_t count = std::max<int64_t>(0, n - o.block_size);
      at::Tensor num_t =
          at::binomial(at::scalar_tensor(static_cast<double>(count), at::kFloat),
                       at::scalar_tensor(o.mask_prob, at::kFloat), gen);
      const int64_t num = num_t.to(at::kLong).item<int64_t>();
      starts = at::randperm(count, gen, longs).narrow(0, 0, std::min(num, count));
    } else {
      const float ratio = static_cast<float>(n) * static_cast<float>(o.mask_prob) /
                          static_cast<float>(o.block_size);
      const int64_t num = static_cast<int64_t>(std::ceil(ratio));
      offset = at::randint(0, o.block_size, {1}, gen, longs)[0].item<int64_t>();
      if ((num + 1) * o.block_size > n) block = n / (num + 1);
      TRELLIS_CHECK(block > 0, DataError,
                    "block masking: {} frames are too few for {} blocks (mask_prob {}, "
                    "block_size {})",
                    n, num, o.mask_prob, o.block_size);
      at::Tensor perm = at::randperm(n / block - 1, gen, longs);
      starts = perm.narrow(0, 0, std::min<int64_t>(num, perm.size(0))) * block + offset;
    }
    if (starts.numel() == 0) continue;
    at::Tensor pos = (starts.unsqueeze(1) + at::arange(block, longs).unsqueeze(0))
                         .reshape({-1})
                         .clamp(0, T - 1);
    mask[i].index_fill_(0, pos, true);
  }
  return mask;
}

BlockMaskingOutput BlockMaskingImpl::forward(const at::Tensor& feats, const at::Tensor& lengths,
                                             at::Generator gen) {
  TRELLIS_CHECK(feats.dim() == 3 && feats.size(2) == options_.feat_in, DataError,
                "block masking: features must be (B, T, {}), got [{}]", options_.feat_in,
                fmt::join(feats.sizes(), ", "));
  TRELLIS_CHECK(lengths.dim() == 1 && lengths.size(0) == feats.size(0), DataError,
                "block masking: {} lengths for a batch of {}", lengths.numel(), feats.size(0));
  at::Tensor mask = draw_mask(lengths, feats.size(1), gen).to(feats.device());  // (B, T)
  BlockMaskingOutput out;
  out.masked = at::where(mask.unsqueeze(-1), mask_embedding.to(feats.dtype()).view({1, 1, -1}),
                         feats);
  out.frame_mask = mask.to(feats.dtype());
  return out;
}

}  // namespace trellis
