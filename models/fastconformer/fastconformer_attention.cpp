#include "models/fastconformer/fastconformer_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "models/modules/linear.h"

namespace trellis {

namespace nn = torch::nn;

FastConformerAttentionImpl::FastConformerAttentionImpl(int64_t embed_dim, int64_t num_heads,
                                                       double dropout_att, bool use_bias)
    : embed_dim_(embed_dim), heads_(num_heads) {
  TRELLIS_CHECK(num_heads > 0 && embed_dim % num_heads == 0, ConfigError,
                "attention: dimension {} is not a multiple of {} heads", embed_dim, num_heads);
  auto linear = [&](bool bias) {
    return nn::Linear(nn::LinearOptions(embed_dim, embed_dim).bias(bias));
  };
  linear_q_ = register_module("linear_q", linear(use_bias));
  linear_k_ = register_module("linear_k", linear(use_bias));
  linear_v_ = register_module("linear_v", linear(use_bias));
  linear_out_ = register_module("linear_out", linear(use_bias));
  linear_pos_ = register_module("linear_pos", linear(false));
  const int64_t d = embed_dim / num_heads;
  pos_bias_u_ = register_parameter("pos_bias_u", torch::zeros({num_heads, d}));
  pos_bias_v_ = register_parameter("pos_bias_v", torch::zeros({num_heads, d}));
  dropout_ = register_module("dropout", FastDropout(dropout_att));
}

// x: (B, T, D) -> (B, H, T, d)
at::Tensor FastConformerAttentionImpl::heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, embed_dim_ / heads_}).transpose(1, 2);
}

// x: (B, T, D); pad: (B, T) bool; pos_emb: (2T-1, D) -> (B, T, D)
at::Tensor FastConformerAttentionImpl::forward(const at::Tensor& x, const at::Tensor& pad,
                                               const at::Tensor& pos_emb) {
  const int64_t B = x.size(0), T = x.size(1), d = embed_dim_ / heads_;
  TRELLIS_CHECK(pos_emb.dim() == 2 && pos_emb.size(0) == 2 * T - 1, Error,
                "rel_pos attention needs (2T-1, D) positions for T = {}", T);
  auto q = heads(linear(linear_q_, x)), k = heads(linear(linear_k_, x));
  auto v = heads(linear(linear_v_, x));
  auto p = linear(linear_pos_, pos_emb)  // 1 x H x (2T-1) x d
               .view({1, 2 * T - 1, heads_, d})
               .transpose(1, 2);
  auto qt = q.transpose(1, 2);                                                     // B x T x H x d
  auto ac = torch::matmul((qt + pos_bias_u_).transpose(1, 2), k.transpose(-2, -1));
  auto bd = torch::matmul((qt + pos_bias_v_).transpose(1, 2), p.transpose(-2, -1));
  // rel_shift: B x H x T x (2T-1) -> B x H x T x T with bd'[i, j] = bd[i, T-1-i+j], NeMo's
  // pad/view/slice/narrow as a strided view of the contiguous bd, no copies: element (i, j) sits
  // at (T-1) + i*(2T-1) - i + j, so rows step by 2T-2 >= T (T >= 2), never overlapping.
  bd = bd.contiguous();
  bd = bd.as_strided({B, heads_, T, T}, {heads_ * T * (2 * T - 1), T * (2 * T - 1), 2 * T - 2, 1},
                     bd.storage_offset() + T - 1);
  auto mask = (pad.unsqueeze(1) | pad.unsqueeze(2)).unsqueeze(1);  // B x 1 x T x T, q or k pad
  // (ac + bd) / sqrt(d), masked: in place on the sum's fresh tensor (neither backward needs it)
  auto scores = at::add(ac, bd).div_(std::sqrt(double(d))).masked_fill_(mask, -10000.0);
  auto attn = dropout_(torch::softmax(scores, -1).masked_fill(mask, 0.0));
  auto ctx = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, embed_dim_});
  return linear(linear_out_, ctx);
}

}  // namespace trellis
