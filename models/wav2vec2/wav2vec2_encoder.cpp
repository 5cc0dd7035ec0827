#include "models/wav2vec2/wav2vec2_encoder.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "models/modules/checkpoint.h"
#include "models/modules/gelu.h"
#include "models/modules/norm.h"

namespace trellis {

namespace {

// fairseq's init_bert_params for a Linear: weight N(0, 0.02), bias 0.
void bert_init(torch::nn::Linear& l) {
  at::NoGradGuard no_grad;
  l->weight.normal_(0.0, 0.02);
  if (l->bias.defined()) l->bias.zero_();
}

torch::nn::LayerNorm make_layer_norm(int64_t d) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5));
}

}  // namespace

Wav2Vec2LayerImpl::Wav2Vec2LayerImpl(const Wav2Vec2Options& o)
    : layer_norm_first_(o.layer_norm_first) {
  const int64_t d = o.encoder_embed_dim;
  self_attn_ = register_module(
      "self_attn", MultiheadAttention(d, o.encoder_attention_heads, o.attention_dropout, true));
  {
    at::NoGradGuard no_grad;
    for (auto& p : self_attn_->named_parameters()) {
      const std::string& key = p.key();
      if (key.size() >= 6 && key.compare(key.size() - 6, 6, "weight") == 0) {
        p.value().normal_(0.0, 0.02);
      } else {
        p.value().zero_();
      }
    }
  }
  self_attn_layer_norm_ = register_module("self_attn_layer_norm", make_layer_norm(d));
  fc1_ = register_module("fc1", torch::nn::Linear(d, o.encoder_ffn_embed_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(o.encoder_ffn_embed_dim, d));
  bert_init(fc1_);
  bert_init(fc2_);
  final_layer_norm_ = register_module("final_layer_norm", make_layer_norm(d));
  dropout1_ = register_module("dropout1", FastDropout(o.dropout));
  dropout2_ = register_module("dropout2", FastDropout(o.activation_dropout));
  dropout3_ = register_module("dropout3", FastDropout(o.dropout));
}

// x: (T, B, D); pad: (B, T) -> (T, B, D)
at::Tensor Wav2Vec2LayerImpl::forward(const at::Tensor& x, const at::Tensor& pad) {
  auto ffn = [&](const at::Tensor& h) {
    return dropout3_->forward(fc2_->forward(dropout2_->forward(trellis::gelu(fc1_->forward(h)))));
  };
  if (layer_norm_first_) {
    at::Tensor h = layer_norm(self_attn_layer_norm_, x);
    at::Tensor y = x + dropout1_->forward(self_attn_->forward(h, h, h, pad, at::Tensor()));
    return y + ffn(layer_norm(final_layer_norm_, y));
  }
  at::Tensor y =
      layer_norm(self_attn_layer_norm_,
                 x + dropout1_->forward(self_attn_->forward(x, x, x, pad, at::Tensor())));
  return layer_norm(final_layer_norm_, y + ffn(y));
}

Wav2Vec2EncoderImpl::Wav2Vec2EncoderImpl(const Wav2Vec2Options& o) : options_(o) {
  const int64_t d = o.encoder_embed_dim, k = o.conv_pos, g = o.conv_pos_groups;
  auto pos = register_module("pos_conv", std::make_shared<torch::nn::Module>());
  auto conv = pos->register_module("0", std::make_shared<torch::nn::Module>());
  {
    at::NoGradGuard no_grad;
    at::Tensor v = at::empty({d, d / g, k}).normal_(0.0, std::sqrt(4.0 / (k * d)));
    // weight_norm(dim=2): g[0, 0, k] = ||v[:, :, k]||
    at::Tensor gn = v.pow(2).sum(at::IntArrayRef{0, 1}, true).sqrt();
    pos_bias_ = conv->register_parameter("bias", at::zeros({d}));
    pos_weight_g_ = conv->register_parameter("weight_g", gn);
    pos_weight_v_ = conv->register_parameter("weight_v", v);
  }
  layer_norm_ = register_module("layer_norm", make_layer_norm(d));
  dropout_ = register_module("dropout", FastDropout(o.dropout));
  auto list = register_module("layers", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < o.encoder_layers; ++i)
    layers_.push_back(list->register_module(std::to_string(i), Wav2Vec2Layer(o)));
}

// x: (B, T, D) -> (B, T, D)
at::Tensor Wav2Vec2EncoderImpl::positional(const at::Tensor& x) {
  at::Tensor w = at::_weight_norm(pos_weight_v_, pos_weight_g_, 2);  // (D, D/G, K)
  at::Tensor y = at::conv1d(x.transpose(1, 2), w, pos_bias_, 1, options_.conv_pos / 2, 1,
                            options_.conv_pos_groups);  // (B, D, T + 1 for even K)
  if (options_.conv_pos % 2 == 0) y = y.slice(2, 0, y.size(2) - 1);
  return trellis::gelu(y).transpose(1, 2);
}

// x: (B, T, D); pad: (B, T) -> (T, B, D)
at::Tensor Wav2Vec2EncoderImpl::forward(at::Tensor x, const at::Tensor& pad,
                                        std::vector<at::Tensor>* hiddens) {
  if (pad.defined()) x = x.masked_fill(pad.unsqueeze(-1), 0.0);
  x = x + positional(x);
  if (!options_.layer_norm_first) x = layer_norm(layer_norm_, x);
  x = dropout_->forward(x).transpose(0, 1);  // (T, B, D)
  for (auto& layer : layers_) {
    if (is_training() && options_.layerdrop > 0 &&
        at::rand({1}).item<double>() < options_.layerdrop)
      continue;
    if (options_.checkpoint_activations && is_training()) {
      // The backward re-runs the lambda after this function returned: capture by value.
      x = checkpoint([layer, pad](const at::Tensor& h) mutable { return layer->forward(h, pad); },
                     x);
    } else {
      x = layer->forward(x, pad);
    }
    if (hiddens) hiddens->push_back(x);
  }
  if (options_.layer_norm_first) x = layer_norm(layer_norm_, x);
  return x;
}

}  // namespace trellis
