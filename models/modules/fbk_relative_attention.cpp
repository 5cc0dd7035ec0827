#include "models/modules/fbk_relative_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "models/modules/norm.h"
#include "models/modules/linear.h"

namespace trellis {

using torch::indexing::None;
using torch::indexing::Slice;

// -> (T, D) float, interleaved sin/cos, positions 0..T-1 (float32 math as in FBK)
at::Tensor fbk_sinusoid_table(int64_t length, int64_t dim) {
  auto position = torch::arange(0, length, torch::kFloat).unsqueeze(1);
  auto div_term = torch::exp(torch::arange(0, dim, 2, torch::kFloat) *
                             static_cast<float>(-(std::log(10000.0) / dim)));
  auto angle = position * div_term;  // T x D/2
  return torch::stack({torch::sin(angle), torch::cos(angle)}, -1).reshape({length, dim});
}

RelativeMultiHeadAttentionImpl::RelativeMultiHeadAttentionImpl(int64_t d_model, int64_t num_heads,
                                                               double dropout,
                                                               bool batch_unsafe_shift)
    : d_model_(d_model), heads_(num_heads), batch_unsafe_shift_(batch_unsafe_shift) {
  TORCH_CHECK(d_model % num_heads == 0, "d_model % num_heads should be zero");
  auto make = [&](const char* name, bool bias) {
    auto l = register_module(
        name, torch::nn::Linear(torch::nn::LinearOptions(d_model, d_model).bias(bias)));
    torch::NoGradGuard ng;
    torch::nn::init::xavier_uniform_(l->weight);
    if (bias) torch::nn::init::zeros_(l->bias);
    return l;
  };
  query_proj_ = make("query_proj", true);
  key_proj_ = make("key_proj", true);
  value_proj_ = make("value_proj", true);
  pos_proj_ = make("pos_proj", false);
  dropout_ = register_module("dropout", FastDropout(dropout));
  u_bias_ = register_parameter("u_bias", torch::empty({num_heads, d_model / num_heads}));
  v_bias_ = register_parameter("v_bias", torch::empty({num_heads, d_model / num_heads}));
  {
    torch::NoGradGuard ng;
    torch::nn::init::xavier_uniform_(u_bias_);
    torch::nn::init::xavier_uniform_(v_bias_);
  }
  out_proj_ = make("out_proj", true);
}

// pos: (B, H, T, T) float; pad: (B, T) bool -> (B, H, T, T) float
at::Tensor RelativeMultiHeadAttentionImpl::relative_shift(const at::Tensor& pos,
                                                          const at::Tensor& pad) const {
  const int64_t B = pos.size(0), H = pos.size(1), T = pos.size(2);
  if (batch_unsafe_shift_ || !pad.any().item<bool>()) {
    auto padded = torch::cat({pos.new_zeros({B, H, T, 1}), pos}, -1);  // B x H x T x (T+1)
    return padded.view({B, H, T + 1, T})
        .index({Slice(), Slice(), Slice(1, None)})
        .reshape({B, H, T, T});
  }
  // Per utterance b (length L), the shift on its own L x L block, as one gather: in the padded
  // block P (L x (L+1), P[i, 0] = 0, P[i, c] = pos[i, c-1]) read row-major, R[i, j] is element
  // k = L + i*L + j, i.e. P[k / (L+1), k % (L+1)].
  auto Lb = (T - pad.sum(1)).view({B, 1, 1});
  auto opts = Lb.options();
  auto i = torch::arange(T, opts).view({1, T, 1}), j = torch::arange(T, opts).view({1, 1, T});
  auto k = Lb + i * Lb + j;  // B x T x T
  auto r = torch::div(k, Lb + 1, "floor"), c = torch::remainder(k, Lb + 1);
  auto valid = (i < Lb).logical_and(j < Lb).logical_and(c > 0);
  auto idx = (r * T + c - 1).clamp(0, T * T - 1).masked_fill(valid.logical_not(), 0);
  auto out = pos.reshape({B, H, T * T}).gather(2, idx.view({B, 1, T * T}).expand({B, H, T * T}));
  return out.view({B, H, T, T}).masked_fill(valid.logical_not().unsqueeze(1), 0.0);
}

// x: (B, T, D); pos: (T, D); pad: (B, T) bool -> (B, T, D)
at::Tensor RelativeMultiHeadAttentionImpl::forward(const at::Tensor& x, const at::Tensor& pos,
                                                   const at::Tensor& pad) {
  const int64_t B = x.size(0), T = x.size(1), d = d_model_ / heads_;
  auto q = linear(query_proj_, x).view({B, T, heads_, d});
  auto k = linear(key_proj_, x).view({B, T, heads_, d}).permute({0, 2, 1, 3});
  auto v = linear(value_proj_, x).view({B, T, heads_, d}).permute({0, 2, 1, 3});
  auto p = linear(pos_proj_, pos).view({T, heads_, d}).permute({1, 2, 0});  // H x d x T
  auto content = torch::matmul((q + u_bias_).transpose(1, 2), k.transpose(2, 3));
  auto pos_score = torch::matmul((q + v_bias_).transpose(1, 2), p.unsqueeze(0));
  auto mask = pad.unsqueeze(1).logical_or(pad.unsqueeze(2));  // B x T x T
  pos_score = relative_shift(pos_score, pad);
  if (!batch_unsafe_shift_) pos_score = pos_score.masked_fill(mask.unsqueeze(1), 0.0);
  auto score = (content + pos_score) / std::sqrt(static_cast<double>(d_model_));
  score = score.masked_fill(mask.unsqueeze(1), -1e4);
  auto attn = torch::softmax(score, -1).masked_fill(mask.unsqueeze(1), 0.0);
  attn = dropout_(attn);
  auto context = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, d_model_});
  return linear(out_proj_, context);
}

FbkSelfAttentionModuleImpl::FbkSelfAttentionModuleImpl(int64_t d_model, int64_t num_heads,
                                                       double dropout, bool batch_unsafe_shift)
    : d_model_(d_model) {
  layer_norm_ =
      register_module("layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  attention_ = register_module(
      "attention", RelativeMultiHeadAttention(d_model, num_heads, dropout, batch_unsafe_shift));
  dropout_ = register_module("dropout", FastDropout(dropout));
}

// x: (B, T, D); pad: (B, T) bool -> (B, T, D)
at::Tensor FbkSelfAttentionModuleImpl::forward(const at::Tensor& x, const at::Tensor& pad) {
  const int64_t T = x.size(1);
  if (!table_.defined() || table_.size(0) < T || table_.device() != x.device()) {
    table_ = fbk_sinusoid_table(std::max<int64_t>(T, 512), d_model_).to(x.device());
  }
  auto pos = table_.narrow(0, 0, T).to(x.dtype());
  return dropout_(attention_(layer_norm(layer_norm_, x), pos, pad));
}

}  // namespace trellis
