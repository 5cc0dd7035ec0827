#include "models/fastconformer/fastconformer_layer.h"

#include <torch/torch.h>

#include "models/modules/norm.h"

namespace trellis {

namespace nn = torch::nn;

FastConformerFeedForwardImpl::FastConformerFeedForwardImpl(int64_t dim, int64_t hidden,
                                                           double dropout, bool use_bias) {
  linear1_ = register_module("linear1", nn::Linear(nn::LinearOptions(dim, hidden).bias(use_bias)));
  dropout_ = register_module("dropout", FastDropout(dropout));
  linear2_ = register_module("linear2", nn::Linear(nn::LinearOptions(hidden, dim).bias(use_bias)));
}

// x: (B, T, D) -> (B, T, D). at::linear, not torch::nn::Linear::forward: for a contiguous 3-d
// input it is one addmm with the bias folded in (the module runs matmul, then add_).
at::Tensor FastConformerFeedForwardImpl::forward(const at::Tensor& x) {
  at::Tensor h = dropout_->silu_forward(at::linear(x, linear1_->weight, linear1_->bias));
  return at::linear(h, linear2_->weight, linear2_->bias);
}

FastConformerLayerImpl::FastConformerLayerImpl(const FastConformerOptions& o) {
  const int64_t D = o.encoder_embed_dim;
  auto norm = [&](const char* name) {
    return register_module(name, nn::LayerNorm(nn::LayerNormOptions({D})));
  };
  auto ff = [&](const char* name) {
    return register_module(name, FastConformerFeedForward(D, o.feed_forward_expansion_factor * D,
                                                          o.dropout, o.use_bias));
  };
  norm_feed_forward1_ = norm("norm_feed_forward1");
  feed_forward1_ = ff("feed_forward1");
  norm_self_att_ = norm("norm_self_att");
  self_attn_ = register_module(
      "self_attn",
      FastConformerAttention(D, o.encoder_attention_heads, o.dropout_att, o.use_bias));
  norm_conv_ = norm("norm_conv");
  conv_ = register_module("conv",
                          FastConformerConv(D, o.conv_kernel_size, o.use_bias,
                                                    o.conv_norm_type, !o.no_syncbatchnorm));
  norm_feed_forward2_ = norm("norm_feed_forward2");
  feed_forward2_ = ff("feed_forward2");
  norm_out_ = norm("norm_out");
  dropout_ = register_module("dropout", FastDropout(o.dropout));
}

// x: (B, T, D); pad: (B, T); pos_emb: (2T-1, D) -> (B, T, D)
at::Tensor FastConformerLayerImpl::forward(const at::Tensor& x, const at::Tensor& pad,
                                           const at::Tensor& pos_emb) {
  // x + 0.5 * f(x) as one add with alpha 0.5 (exact: halving rounds nothing)
  // layer_norm (models/modules/norm.h): float32 norms under bf16 autocast (train --bf16)
  auto r = at::add(x, dropout_(feed_forward1_(layer_norm(norm_feed_forward1_, x))), 0.5);
  r = r + dropout_(self_attn_(layer_norm(norm_self_att_, r), pad, pos_emb));
  r = r + dropout_(conv_(layer_norm(norm_conv_, r), pad));
  r = at::add(r, dropout_(feed_forward2_(layer_norm(norm_feed_forward2_, r))), 0.5);
  return layer_norm(norm_out_, r);
}

}  // namespace trellis
