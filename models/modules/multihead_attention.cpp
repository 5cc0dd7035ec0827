#include "models/modules/multihead_attention.h"
#include "models/modules/linear.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace trellis {

namespace nn = torch::nn;

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout,
                                               bool self_attention)
    : embed_dim_(embed_dim), heads_(num_heads) {
  TORCH_CHECK(embed_dim % num_heads == 0, "embed_dim must be divisible by num_heads");
  scaling_ = std::pow(static_cast<double>(embed_dim / num_heads), -0.5);
  k_proj_ = register_module("k_proj", nn::Linear(embed_dim, embed_dim));
  v_proj_ = register_module("v_proj", nn::Linear(embed_dim, embed_dim));
  q_proj_ = register_module("q_proj", nn::Linear(embed_dim, embed_dim));
  out_proj_ = register_module("out_proj", nn::Linear(embed_dim, embed_dim));
  dropout_ = register_module("dropout", FastDropout(dropout));
  torch::NoGradGuard ng;
  // fairseq: qkv_same_dim -> gain 1/sqrt(2) for q, k, v
  const double gain = 1.0 / std::sqrt(2.0);
  for (auto* l : {&k_proj_, &v_proj_, &q_proj_}) nn::init::xavier_uniform_((*l)->weight, gain);
  nn::init::xavier_uniform_(out_proj_->weight);
  nn::init::zeros_(out_proj_->bias);
  (void)self_attention;
}

// x: (T, B, D) -> (B, H, T, d)
at::Tensor MultiheadAttentionImpl::split_heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, embed_dim_ / heads_}).permute({1, 2, 0, 3});
}

// query: (Tq, B, D); key/value: (Tk, B, D); key_padding_mask: (B, Tk) bool; attn_mask: (Tq, Tk)
at::Tensor MultiheadAttentionImpl::forward(const at::Tensor& query, const at::Tensor& key,
                                           const at::Tensor& value,
                                           const at::Tensor& key_padding_mask,
                                           const at::Tensor& attn_mask, IncrementalState* state,
                                           const std::string& cache_name, bool static_kv) {
  const int64_t Tq = query.size(0), B = query.size(1);
  at::Tensor q, k, v, kpm = key_padding_mask;
  const std::string kk = cache_name + ".prev_key", vk = cache_name + ".prev_value",
                    mk = cache_name + ".prev_key_padding_mask";
  if (query.is_same(key) && key.is_same(value) && !static_kv) {
    // self-attention: one (Tq*B, D) x (D, 3D) matmul instead of three (as torch's in_proj)
    const auto qkv = at::linear(
        query, at::cat({q_proj_->weight, k_proj_->weight, v_proj_->weight}),
        at::cat({q_proj_->bias, k_proj_->bias, v_proj_->bias})).chunk(3, -1);  // 3 x (Tq, B, D)
    q = split_heads(qkv[0] * scaling_);  // B x H x Tq x d
    k = split_heads(qkv[1]);
    v = split_heads(qkv[2]);
  } else {
    q = split_heads(linear(q_proj_, query) * scaling_);
    if (state && static_kv && state->buffers.count(kk)) {
      k = state->buffers[kk];
      v = state->buffers[vk];
    } else {
      k = split_heads(linear(k_proj_, key));
      v = split_heads(linear(v_proj_, value));
    }
  }
  if (state && !static_kv) {
    auto cur =
        kpm.defined() ? kpm : torch::zeros({B, k.size(2)}, query.options().dtype(torch::kBool));
    if (state->buffers.count(kk)) {
      k = torch::cat({state->buffers[kk], k}, 2);
      v = torch::cat({state->buffers[vk], v}, 2);
      cur = torch::cat({state->buffers[mk], cur}, 1);
    }
    kpm = cur;
    state->buffers[mk] = cur;
  }
  if (state) {
    state->buffers[kk] = k;
    state->buffers[vk] = v;
  }
  auto score = torch::matmul(q, k.transpose(2, 3));  // B x H x Tq x Tk
  if (attn_mask.defined()) score = score + attn_mask;
  // In place: score is this function's own product (bmm's backward keeps q and k, not it), and
  // a mask with no padded key is skipped.
  if (kpm.defined() && kpm.any().item<bool>())
    score.masked_fill_(kpm.view({B, 1, 1, -1}), -std::numeric_limits<float>::infinity());
  // In the scores' own dtype: ATen's CPU bf16 softmax and its backward accumulate in float32
  // (the forward equals the float32 softmax rounded to bf16 but for 1 ulp in ~1e-5 of the
  // entries), and converting the (B, H, Tq, Tk) scores to float32 and back, both ways, took
  // ~4x the softmax itself under --bf16 (docs/benchmarks.md, "bf16 without casts").
  auto attn = torch::softmax(score, -1);
  attn = dropout_(attn);
  auto ctx = torch::matmul(attn, v).permute({2, 0, 1, 3}).reshape({Tq, B, embed_dim_});
  return linear(out_proj_, ctx);
}

}  // namespace trellis
