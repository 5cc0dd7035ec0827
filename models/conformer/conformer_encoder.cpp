#include "models/conformer/conformer_encoder.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "models/conformer/fbk_conformer_layer.h"
#include "models/modules/checkpoint.h"
#include "models/modules/conv2d_subsampler.h"
#include "models/modules/padding.h"
#include "models/modules/linear.h"

namespace trellis {

std::shared_ptr<Subsampler> make_subsampler(const ConformerOptions& o, int64_t input_dim,
                                            bool mask_padding) {
  if (o.conv_version == "convtransformer") {
    const int64_t channels = o.input_channels > 0 ? o.input_channels : 1;
    return Conv2dSubsampler(channels, input_dim / channels, o.conv_out_channels,
                            o.encoder_embed_dim, o.conv2d_subsampling_factor == 8 ? 3 : 2)
        .ptr();
  }
  return Conv1dSubsampler(input_dim, o.conv_channels, o.encoder_embed_dim, o.conv_kernel_sizes,
                          mask_padding)
      .ptr();
}

ConformerEncoderImpl::ConformerEncoderImpl(const ConformerOptions& o, int64_t input_dim,
                                           int64_t ctc_vocab)
    : o_(o) {
  subsample_ = register_module("subsample", make_subsampler(o, input_dim, /*mask_padding=*/true));
  FbkConformerLayerConfig c;
  c.embed_dim = o.encoder_embed_dim;
  c.attention_heads = o.encoder_attention_heads;
  c.ff_expansion = o.feed_forward_expansion_factor;
  c.conv_kernel_size = o.conformer_conv_kernel_size;
  c.ff_dropout = o.conformer_feedforward_dropout;
  c.attention_dropout = o.conformer_attention_dropout;
  c.conv_dropout = o.conformer_conv_dropout;
  c.half_step_residual = o.conformer_half_step_residual;
  c.batch_unsafe_relative_shift = o.batch_unsafe_relative_shift;
  for (int64_t i = 0; i < o.encoder_layers; ++i) conformer_layers_->push_back(FbkConformerLayer(c));
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

// x: (T, B, D); pad: (B, T) bool -> (T, B, D)
at::Tensor ConformerEncoderImpl::run_layer(size_t i, const at::Tensor& x, const at::Tensor& pad) {
  auto layer = conformer_layers_[i]->as<FbkConformerLayer>();
  if (!o_.checkpoint_activations || !is_training()) return layer->forward(x, pad);
  return checkpoint([layer, pad](const at::Tensor& h) { return layer->forward(h, pad); }, x);
}

// src: (B, T, F*C) float; lengths: (B) int64 -> EncoderOut
EncoderOut ConformerEncoderImpl::forward(const at::Tensor& src, const at::Tensor& lengths,
                                         bool return_all_hiddens) {
  auto [x, lens] = subsample_->forward(src, lengths);  // T' x B x D
  const double scale = o_.no_scale_embedding ? 1.0 : std::sqrt(double(o_.encoder_embed_dim));
  x = dropout_(x * scale);
  auto pad = lengths_to_padding_mask(lens, x.size(0));
  EncoderOut out;
  for (size_t i = 0; i < conformer_layers_->size(); ++i) {
    x = run_layer(i, x, pad);
    if (has_ctc() && static_cast<int64_t>(i) + 1 == ctc_layer_) {
      out.ctc_logits = linear(ctc_fc_, x);
      out.ctc_lengths = lens;
      if (compress_.strategy != "none") {
        std::tie(x, lens) = ctc_compress(x, out.ctc_logits, lens, compress_);
        pad = lengths_to_padding_mask(lens, x.size(0));
      }
    }
    if (return_all_hiddens) out.encoder_states.push_back(x);
  }
  out.encoder_out = x;
  out.encoder_padding_mask = pad;
  return out;
}

}  // namespace trellis
