#include "models/modules/positional_embedding.h"

#include <torch/torch.h>

#include <cmath>

namespace trellis {

// -> (num, dim) float
at::Tensor fairseq_sinusoidal_table(int64_t num, int64_t dim, int64_t padding_idx) {
  const int64_t half = dim / 2;
  const double step = std::log(10000.0) / static_cast<double>(half - 1);
  auto freq = torch::exp(torch::arange(half, torch::kFloat) * static_cast<float>(-step));
  auto angle = torch::arange(num, torch::kFloat).unsqueeze(1) * freq.unsqueeze(0);
  auto emb = torch::cat({torch::sin(angle), torch::cos(angle)}, 1).view({num, -1});
  if (dim % 2 == 1) emb = torch::cat({emb, torch::zeros({num, 1})}, 1);
  if (padding_idx >= 0 && padding_idx < num) emb[padding_idx].zero_();
  return emb;
}

// tokens: (B, L) int64 -> (B, L) int64
at::Tensor make_positions(const at::Tensor& tokens, int64_t padding_idx) {
  auto mask = tokens.ne(padding_idx).to(torch::kInt);
  return (torch::cumsum(mask, 1).to(torch::kInt) * mask).to(torch::kLong) + padding_idx;
}

PositionalEmbeddingImpl::PositionalEmbeddingImpl(int64_t max_positions, int64_t dim,
                                                 int64_t padding_idx, bool learned)
    : dim_(dim), padding_idx_(padding_idx), learned_(learned) {
  if (learned) {
    weight_ = register_parameter("weight", torch::randn({max_positions + padding_idx + 1, dim}) *
                                               std::pow(static_cast<double>(dim), -0.5));
    torch::NoGradGuard ng;
    weight_[padding_idx].zero_();
  }
}

// tokens: (B, L) int64 -> (B, L, D) float, or (B, 1, D) with last_only
at::Tensor PositionalEmbeddingImpl::forward(const at::Tensor& tokens, bool last_only) {
  auto positions = make_positions(tokens, padding_idx_);
  if (last_only) positions = positions.narrow(1, positions.size(1) - 1, 1);
  if (learned_) return torch::embedding(weight_, positions, padding_idx_);
  const int64_t need = padding_idx_ + 1 + tokens.size(1);
  if (!table_.defined() || table_.size(0) < need || table_.device() != tokens.device()) {
    table_ = fairseq_sinusoidal_table(std::max<int64_t>(need, 256), dim_, padding_idx_)
                 .to(tokens.device());
  }
  return table_.index_select(0, positions.reshape(-1))
      .view({positions.size(0), positions.size(1), dim_});
}

}  // namespace trellis
