#include "models/modules/transformer_decoder.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "models/modules/norm.h"
#include "models/modules/linear.h"

namespace trellis {

namespace nn = torch::nn;

TransformerDecoderLayerImpl::TransformerDecoderLayerImpl(const TransformerDecoderConfig& c)
    : c_(c) {
  const int64_t D = c.embed_dim;
  self_attn_ = register_module("self_attn",
                               MultiheadAttention(D, c.attention_heads, c.attention_dropout, true));
  self_attn_layer_norm_ =
      register_module("self_attn_layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
  if (!c.no_encoder_attn) {
    encoder_attn_ = register_module(
        "encoder_attn", MultiheadAttention(D, c.attention_heads, c.attention_dropout, false));
    encoder_attn_layer_norm_ =
        register_module("encoder_attn_layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
  }
  fc1_ = register_module("fc1", nn::Linear(D, c.ffn_embed_dim));
  fc2_ = register_module("fc2", nn::Linear(c.ffn_embed_dim, D));
  final_layer_norm_ = register_module("final_layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
  dropout_ = register_module("dropout", FastDropout(c.dropout));
  activation_dropout_ = register_module("activation_dropout", FastDropout(c.activation_dropout));
}

// x: any float -> same shape
at::Tensor TransformerDecoderLayerImpl::activation(const at::Tensor& x) const {
  if (c_.activation_fn == "relu") return torch::relu(x);
  if (c_.activation_fn == "gelu") return torch::gelu(x.to(torch::kFloat)).to(x.scalar_type());
  if (c_.activation_fn == "swish") return torch::silu(x);
  throw ConfigError("unsupported --activation-fn " + c_.activation_fn);
}

// x: (L, B, D); enc: (T, B, D); enc_pad: (B, T); self_pad: (B, L); causal: (L, L) -> (L, B, D)
at::Tensor TransformerDecoderLayerImpl::forward(const at::Tensor& x_in, const at::Tensor& enc,
                                                const at::Tensor& enc_pad,
                                                const at::Tensor& self_pad,
                                                const at::Tensor& causal, IncrementalState* state,
                                                const std::string& name) {
  const bool pre = c_.normalize_before;
  auto x = x_in;
  auto r = x;
  if (pre) x = layer_norm(self_attn_layer_norm_, x);
  x = self_attn_(x, x, x, self_pad, causal, state, name + ".self_attn", false);
  x = r + dropout_(x);
  if (!pre) x = layer_norm(self_attn_layer_norm_, x);
  if (encoder_attn_) {
    r = x;
    if (pre) x = layer_norm(encoder_attn_layer_norm_, x);
    x = encoder_attn_(x, enc, enc, enc_pad, at::Tensor(), state, name + ".encoder_attn", true);
    x = r + dropout_(x);
    if (!pre) x = layer_norm(encoder_attn_layer_norm_, x);
  }
  r = x;
  if (pre) x = layer_norm(final_layer_norm_, x);
  x = linear(fc2_, activation_dropout_(activation(linear(fc1_, x))));
  x = r + dropout_(x);
  if (!pre) x = layer_norm(final_layer_norm_, x);
  return x;
}

TransformerDecoderImpl::TransformerDecoderImpl(const TransformerDecoderConfig& c) : c_(c) {
  TRELLIS_CHECK(c.vocab_size > 0, ConfigError, "the decoder needs a target vocabulary");
  const int64_t D = c.embed_dim;
  embed_tokens_ = register_module(
      "embed_tokens",
      nn::Embedding(nn::EmbeddingOptions(c.vocab_size, D).padding_idx(c.padding_idx)));
  {
    torch::NoGradGuard ng;
    nn::init::normal_(embed_tokens_->weight, 0.0, std::pow(double(D), -0.5));
    embed_tokens_->weight[c.padding_idx].zero_();
  }
  embed_positions_ =
      register_module("embed_positions",
                      PositionalEmbedding(c.max_target_positions, D, c.padding_idx, c.learned_pos));
  for (int64_t i = 0; i < c.layers; ++i) layers_->push_back(TransformerDecoderLayer(c));
  register_module("layers", layers_);
  if (c.normalize_before) {
    layer_norm_ = register_module("layer_norm", nn::LayerNorm(nn::LayerNormOptions({D})));
  }
  if (!c.share_input_output_embed) {
    output_projection_ = register_module(
        "output_projection", nn::Linear(nn::LinearOptions(D, c.vocab_size).bias(false)));
    torch::NoGradGuard ng;
    nn::init::normal_(output_projection_->weight, 0.0, std::pow(double(D), -0.5));
  }
  dropout_ = register_module("dropout", FastDropout(c.dropout));
}

// prev: (B, L) int64; enc: (T, B, D); enc_pad: (B, T) bool -> (B, L or 1, V)
at::Tensor TransformerDecoderImpl::forward(const at::Tensor& prev, const at::Tensor& enc,
                                           const at::Tensor& enc_pad, IncrementalState* state) {
  const bool inc = state != nullptr;
  auto positions = embed_positions_(prev, inc);
  auto tokens = inc ? prev.narrow(1, prev.size(1) - 1, 1) : prev;
  const double scale = c_.no_scale_embedding ? 1.0 : std::sqrt(double(c_.embed_dim));
  auto x = dropout_(embed_tokens_(tokens) * scale + positions).transpose(0, 1);  // L x B x D
  at::Tensor self_pad;
  if (tokens.eq(c_.padding_idx).any().item<bool>()) self_pad = tokens.eq(c_.padding_idx);
  at::Tensor causal;
  if (!inc) {
    const int64_t L = tokens.size(1);
    causal =
        torch::triu(torch::full({L, L}, -std::numeric_limits<float>::infinity(), x.options()), 1);
  }
  for (size_t i = 0; i < layers_->size(); ++i) {
    x = layers_[i]->as<TransformerDecoderLayer>()->forward(x, enc, enc_pad, self_pad, causal, state,
                                                           "layers." + std::to_string(i));
  }
  if (layer_norm_) x = layer_norm(layer_norm_, x);
  x = x.transpose(0, 1);  // B x L x D
  return c_.share_input_output_embed ? torch::matmul(x, embed_tokens_->weight.t())
                                     : linear(output_projection_, x);
}

}  // namespace trellis
