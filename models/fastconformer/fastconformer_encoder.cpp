#include "models/fastconformer/fastconformer_encoder.h"

#include <torch/torch.h>

#include <cmath>

#include "models/modules/espnet_attention.h"
#include "models/modules/padding.h"

namespace trellis {

FastConformerEncoderImpl::FastConformerEncoderImpl(const FastConformerOptions& o,
                                                   int64_t input_dim)
    : options_(o) {
  o.validate();
  pre_encode_ = register_module(
      "pre_encode", DwStridingSubsampler(input_dim, o.subsampling_conv_channels,
                                         o.encoder_embed_dim));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.encoder_layers; ++i) layers_->push_back(FastConformerLayer(o));
  dropout_pre_encoder_ =
      register_module("dropout_pre_encoder", FastDropout(o.dropout_pre_encoder));
  dropout_emb_ = register_module("dropout_emb", FastDropout(o.dropout_emb));
}

// x: (B, T, F); lengths: (B) -> (B, T', D), (B)
FastConformerEncoderOut FastConformerEncoderImpl::forward(const at::Tensor& x,
                                                          const at::Tensor& lengths,
                                                          bool return_all_hiddens) {
  FastConformerEncoderOut out;
  auto [h, len] = pre_encode_->forward(x, lengths);
  const int64_t T = h.size(1);
  if (options_.xscaling) h = h * std::sqrt(double(options_.encoder_embed_dim));
  // NeMo's table (positions 4999 .. -4999) sliced to T-1 .. -(T-1): the same values
  auto pos_emb = espnet_rel_positions(T, options_.encoder_embed_dim).to(h.device(), h.dtype());
  h = dropout_pre_encoder_(h);
  pos_emb = dropout_emb_(pos_emb);
  auto pad = lengths_to_padding_mask(len, T);
  for (const auto& layer : *layers_) {
    h = layer->as<FastConformerLayer>()->forward(h, pad, pos_emb);
    if (return_all_hiddens) out.hiddens.push_back(h);
  }
  out.x = h;
  out.lengths = len;
  out.padding_mask = pad;
  return out;
}

// x: (B, T, F); lengths: (B) -> EncoderOut, time-major
EncoderOut FastConformerEncoderImpl::encode(const at::Tensor& x, const at::Tensor& lengths,
                                            bool return_all_hiddens) {
  auto f = forward(x, lengths, return_all_hiddens);
  EncoderOut e;
  e.encoder_out = f.x.transpose(0, 1);
  e.encoder_padding_mask = f.padding_mask;
  for (auto& s : f.hiddens) e.encoder_states.push_back(s.transpose(0, 1));
  return e;
}

}  // namespace trellis
