#include "models/modules/espnet_attention.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "models/modules/linear.h"

namespace trellis {

namespace nn = torch::nn;
using torch::indexing::None;
using torch::indexing::Slice;

// -> (2T-1, D): interleaved sin/cos of r * 10000^(-2i/D), r = T-1 .. -(T-1)
at::Tensor espnet_rel_positions(int64_t length, int64_t dim) {
  auto div = torch::exp(torch::arange(0, dim, 2, torch::kFloat) *
                        static_cast<float>(-(std::log(10000.0) / dim)));
  auto pos = torch::arange(0, length, torch::kFloat).unsqueeze(1);
  auto positive = torch::stack({torch::sin(pos * div), torch::cos(pos * div)}, -1)
                      .reshape({length, dim});  // rows r = 0..T-1
  auto negative = torch::stack({torch::sin(-1 * pos * div), torch::cos(-1 * pos * div)}, -1)
                      .reshape({length, dim});  // rows r = 0..-(T-1)
  return torch::cat({positive.flip({0}), negative.narrow(0, 1, length - 1)}, 0);
}

EspnetAttentionImpl::EspnetAttentionImpl(int64_t embed_dim, int64_t num_heads, double dropout,
                                         std::string pos_enc)
    : embed_dim_(embed_dim), heads_(num_heads), pos_enc_(std::move(pos_enc)) {
  TRELLIS_CHECK(pos_enc_ == "abs" || pos_enc_ == "rel_pos" || pos_enc_ == "rope", ConfigError,
                "unknown --pos-enc-type {}", pos_enc_);
  const int64_t d = embed_dim / num_heads;
  linear_q_ = register_module("linear_q", nn::Linear(embed_dim, embed_dim));
  linear_k_ = register_module("linear_k", nn::Linear(embed_dim, embed_dim));
  linear_v_ = register_module("linear_v", nn::Linear(embed_dim, embed_dim));
  linear_out_ = register_module("linear_out", nn::Linear(embed_dim, embed_dim));
  dropout_ = register_module("dropout", FastDropout(dropout));
  if (pos_enc_ == "rel_pos") {
    linear_pos_ = register_module("linear_pos",
                                  nn::Linear(nn::LinearOptions(embed_dim, embed_dim).bias(false)));
    pos_bias_u_ = register_parameter("pos_bias_u", torch::empty({num_heads, d}));
    pos_bias_v_ = register_parameter("pos_bias_v", torch::empty({num_heads, d}));
    torch::NoGradGuard ng;
    nn::init::xavier_uniform_(pos_bias_u_);
    nn::init::xavier_uniform_(pos_bias_v_);
  } else if (pos_enc_ == "rope") {
    auto rotary = register_module("rotary_emb", std::make_shared<torch::nn::Module>());
    inv_freq_ = rotary->register_buffer(
        "inv_freq", 1.0 / torch::pow(10000.0, torch::arange(0, d, 2, torch::kFloat) / double(d)));
  }
}

// x: (T, B, D) -> (B, H, T, d)
at::Tensor EspnetAttentionImpl::heads(const at::Tensor& x) const {
  return x.view({x.size(0), x.size(1), heads_, embed_dim_ / heads_}).permute({1, 2, 0, 3});
}

// x: (T, B, D) -> (T, B, D) rotated per head
at::Tensor EspnetAttentionImpl::rotate(const at::Tensor& x) const {
  const int64_t T = x.size(0), B = x.size(1), d = embed_dim_ / heads_;
  auto t = torch::arange(T, inv_freq_.options());
  auto freqs = torch::outer(t, inv_freq_);
  auto emb = torch::cat({freqs, freqs}, -1);  // T x d
  auto cos = emb.cos().view({T, 1, 1, d}).to(x.dtype()),
       sin = emb.sin().view({T, 1, 1, d}).to(x.dtype());
  auto h = x.view({T, B, heads_, d});
  auto rotated = torch::cat({-h.narrow(-1, d / 2, d - d / 2), h.narrow(-1, 0, d / 2)}, -1);
  return (h * cos + rotated * sin).view({T, B, embed_dim_});
}

// x: (T, B, D); pad: (B, T) bool; pos_emb: (2T-1, D) for rel_pos -> (T, B, D)
at::Tensor EspnetAttentionImpl::forward(const at::Tensor& x, const at::Tensor& pad,
                                        const at::Tensor& pos_emb) {
  const int64_t T = x.size(0), B = x.size(1), d = embed_dim_ / heads_;
  auto qk_in = pos_enc_ == "rope" ? rotate(x) : x;
  auto q = heads(linear(linear_q_, qk_in)), k = heads(linear(linear_k_, qk_in)),
       v = heads(linear(linear_v_, x));
  at::Tensor score;
  if (pos_enc_ == "rel_pos") {
    TRELLIS_CHECK(pos_emb.defined() && pos_emb.size(0) == 2 * T - 1, Error,
                  "rel_pos attention needs (2T-1, D) positions");
    auto p = linear(linear_pos_, pos_emb).view({1, 2 * T - 1, heads_, d}).transpose(1, 2);
    auto qt = q.transpose(1, 2);  // B x T x H x d
    auto ac = torch::matmul((qt + pos_bias_u_).transpose(1, 2), k.transpose(-2, -1));
    auto bd = torch::matmul((qt + pos_bias_v_).transpose(1, 2), p.transpose(-2, -1));
    // rel_shift: B x H x T x (2T-1) -> B x H x T x T with bd'[i, j] = bd[i, T-1-i+j]
    auto padded = torch::cat({bd.new_zeros({B, heads_, T, 1}), bd}, -1).view({B, heads_, 2 * T, T});
    bd = padded.index({Slice(), Slice(), Slice(1, None)}).reshape({B, heads_, T, 2 * T - 1});
    bd = bd.narrow(-1, 0, T);
    score = (ac + bd) / std::sqrt(double(d));
  } else {
    score = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(d));
  }
  if (pad.defined()) {
    score = score.masked_fill(pad.view({B, 1, 1, T}), -std::numeric_limits<float>::infinity());
  }
  auto attn = dropout_(torch::softmax(score, -1));
  auto ctx = torch::matmul(attn, v).permute({2, 0, 1, 3}).reshape({T, B, embed_dim_});
  return linear(linear_out_, ctx);
}

}  // namespace trellis
