#include "models/conformer/up_conformer_encoder.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "models/conformer/conformer_encoder.h"
#include "models/conformer/up_conformer_layer.h"
#include "models/modules/checkpoint.h"
#include "models/modules/espnet_attention.h"
#include "models/modules/padding.h"
#include "models/modules/positional_embedding.h"
#include "models/modules/linear.h"

namespace trellis {

UpConformerEncoderImpl::UpConformerEncoderImpl(const ConformerOptions& o, int64_t input_dim,
                                               int64_t ctc_vocab)
    : o_(o) {
  TRELLIS_CHECK(o.attn_type == "espnet" || o.pos_enc_type == "abs", ConfigError,
                "--pos-enc-type {} needs --attn-type espnet", o.pos_enc_type);
  subsample_ = register_module("subsample", make_subsampler(o, input_dim, /*mask_padding=*/false));
  linear_ = register_module("linear", torch::nn::Linear(o.encoder_embed_dim, o.encoder_embed_dim));
  UpConformerLayerConfig c;
  c.embed_dim = o.encoder_embed_dim;
  c.ffn_embed_dim = o.encoder_ffn_embed_dim;
  c.attention_heads = o.encoder_attention_heads;
  c.depthwise_conv_kernel_size = o.depthwise_conv_kernel_size;
  c.dropout = o.dropout;
  c.attn_type = o.attn_type == "none" ? "" : o.attn_type;
  c.pos_enc_type = o.pos_enc_type;
  for (int64_t i = 0; i < o.encoder_layers; ++i) conformer_layers_->push_back(UpConformerLayer(c));
  register_module("conformer_layers", conformer_layers_);
  if (ctc_vocab > 0) {
    ctc_layer_ = o.ctc_encoder_layer > 0 ? o.ctc_encoder_layer : o.encoder_layers;
    TRELLIS_CHECK(ctc_layer_ >= 1 && ctc_layer_ <= o.encoder_layers, ConfigError,
                  "--ctc-encoder-layer {} must be in 1..--encoder-layers ({})", ctc_layer_,
                  o.encoder_layers);
    ctc_fc_ = register_module("ctc_fc", torch::nn::Linear(o.encoder_embed_dim, ctc_vocab));
    compress_.strategy = o.ctc_compress_strategy;
    compress_.fixed_ratio = o.ctc_compress_fixed_ratio;
    compress_.max_out_size = o.ctc_compress_max_out_size;
  }
  dropout_ = register_module("dropout", FastDropout(o.dropout));
}

// src: (B, T, F*C); lengths: (B) -> EncoderOut
EncoderOut UpConformerEncoderImpl::forward(const at::Tensor& src, const at::Tensor& lengths,
                                           bool return_all_hiddens) {
  auto [x, lens] = subsample_->forward(src, lengths);  // T x B x D
  auto pad = lengths_to_padding_mask(lens, x.size(0));
  const int64_t D = o_.encoder_embed_dim;
  x = x * (o_.no_scale_embedding ? 1.0 : std::sqrt(double(D)));
  auto rel_positions = [&](int64_t T) {
    return espnet_rel_positions(T, D).to(x.device()).to(x.dtype());
  };
  at::Tensor pos;
  if (o_.pos_enc_type == "abs") {
    auto positions = make_positions(pad.to(torch::kLong), 1);  // B x T, 2.. on valid frames
    auto table = fairseq_sinusoidal_table(positions.max().item<int64_t>() + 1, D, 1)
                     .to(x.device())
                     .to(x.dtype());
    x = x + table.index_select(0, positions.reshape(-1))
                .view({pad.size(0), pad.size(1), D})
                .transpose(0, 1);
  } else if (o_.pos_enc_type == "rel_pos") {
    pos = rel_positions(x.size(0));
  }
  x = dropout_(linear(linear_, x));
  EncoderOut out;
  for (size_t i = 0; i < conformer_layers_->size(); ++i) {
    auto layer = conformer_layers_[i]->as<UpConformerLayer>();
    if (o_.checkpoint_activations && is_training()) {
      x = checkpoint([layer, pad, pos](const at::Tensor& h) { return layer->forward(h, pad, pos); },
                     x);
    } else {
      x = layer->forward(x, pad, pos);
    }
    if (!ctc_fc_.is_empty() && static_cast<int64_t>(i) + 1 == ctc_layer_) {
      out.ctc_logits = linear(ctc_fc_, x);
      out.ctc_lengths = lens;
      if (compress_.strategy != "none") {
        std::tie(x, lens) = ctc_compress(x, out.ctc_logits, lens, compress_);
        pad = lengths_to_padding_mask(lens, x.size(0));
        if (pos.defined()) pos = rel_positions(x.size(0));
      }
    }
    if (return_all_hiddens) out.encoder_states.push_back(x);
  }
  out.encoder_out = x;
  out.encoder_padding_mask = pad;
  return out;
}

}  // namespace trellis
