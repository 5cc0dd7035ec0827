#include "models/conformer/conformer.h"

#include <torch/torch.h>

#include "core/error.h"

namespace trellis {

void ConformerOptions::validate() const {
  TRELLIS_CHECK(encoder_embed_dim % encoder_attention_heads == 0, ConfigError,
                "--encoder-embed-dim {} must be divisible by --encoder-attention-heads {}",
                encoder_embed_dim, encoder_attention_heads);
  TRELLIS_CHECK(decoder_embed_dim % decoder_attention_heads == 0, ConfigError,
                "--decoder-embed-dim {} must be divisible by --decoder-attention-heads {}",
                decoder_embed_dim, decoder_attention_heads);
  TRELLIS_CHECK(conformer_conv_kernel_size % 2 == 1, ConfigError,
                "--conformer-conv-kernel-size must be odd (got {})", conformer_conv_kernel_size);
  TRELLIS_CHECK(conv_expansion_factor == 2, ConfigError,
                "--conv-expansion-factor must be 2 (got {})", conv_expansion_factor);
  TRELLIS_CHECK(!conv_kernel_sizes.empty(), ConfigError, "--conv-kernel-sizes is empty");
  TRELLIS_CHECK(conv_channels % 2 == 0, ConfigError, "--conv-channels must be even");
  TRELLIS_CHECK(ctc_encoder_layer >= 0, ConfigError,
                "--ctc-encoder-layer must be 1..--encoder-layers, or 0 for the last");
  TRELLIS_CHECK(depthwise_conv_kernel_size % 2 == 1, ConfigError,
                "--depthwise-conv-kernel-size must be odd (got {})", depthwise_conv_kernel_size);
  TRELLIS_CHECK(conformer_variant == "upstream" || (pos_enc_type == "abs" && attn_type == "none"),
                ConfigError,
                "--pos-enc-type and --attn-type apply to --conformer-variant upstream");
  TRELLIS_CHECK(attn_type == "espnet" || pos_enc_type == "abs", ConfigError,
                "--pos-enc-type {} needs --attn-type espnet", pos_enc_type);
  TRELLIS_CHECK(conv2d_subsampling_factor == 4 || conv2d_subsampling_factor == 8, ConfigError,
                "--conv2d-subsampling-factor must be 4 or 8");
  TRELLIS_CHECK(ctc_compress_fixed_ratio > 0, ConfigError,
                "--ctc-compress-fixed-ratio must be positive");
}

int64_t conformer_input_dim(const ConformerOptions& o, const ModelContext& ctx) {
  const int64_t f =
      ctx.input_feat_per_channel > 0 ? ctx.input_feat_per_channel : o.input_feat_per_channel;
  const int64_t c = ctx.input_channels > 0 ? ctx.input_channels : o.input_channels;
  return f * c;
}

std::shared_ptr<SpeechEncoder> make_conformer_encoder(const ConformerOptions& o, int64_t input_dim,
                                                      int64_t ctc_vocab) {
  if (o.conformer_variant == "upstream") {
    return UpConformerEncoder(o, input_dim, ctc_vocab).ptr();
  }
  return ConformerEncoder(o, input_dim, ctc_vocab).ptr();
}

TransformerDecoderConfig conformer_decoder_config(const ConformerOptions& o,
                                                  const ModelContext& ctx) {
  TransformerDecoderConfig c;
  c.vocab_size = ctx.tgt_vocab_size;
  c.padding_idx = ctx.pad;
  c.embed_dim = o.decoder_embed_dim;
  c.ffn_embed_dim = o.decoder_ffn_embed_dim;
  c.layers = o.decoder_layers;
  c.attention_heads = o.decoder_attention_heads;
  c.dropout = o.dropout;
  c.attention_dropout = o.attention_dropout;
  c.activation_dropout = o.activation_dropout;
  c.activation_fn = o.activation_fn;
  c.normalize_before = o.decoder_normalize_before;
  c.learned_pos = o.decoder_learned_pos;
  c.no_scale_embedding = o.no_scale_embedding;
  c.share_input_output_embed = o.share_decoder_input_output_embed;
  c.max_target_positions = o.max_target_positions;
  return c;
}

ConformerModel::ConformerModel(const ConformerOptions& o, const ModelContext& ctx) : options_(o) {
  o.validate();
  const bool ctc = ctx.ctc_enabled || o.ctc_compress_strategy != "none";
  TRELLIS_CHECK(!ctc || ctx.src_vocab_size > 0, ConfigError,
                "the CTC head (--criterion ctc_multi_loss or --ctc-compress-strategy) needs a "
                "source dictionary");
  encoder_ = make_conformer_encoder(o, conformer_input_dim(o, ctx), ctc ? ctx.src_vocab_size : 0);
  register_module("encoder", encoder_);
  decoder_ = register_module("decoder", TransformerDecoder(conformer_decoder_config(o, ctx)));
}

// src_tokens: (B, T, F*C); src_lengths: (B) -> EncoderOut
EncoderOut ConformerModel::encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                                  bool return_all_hiddens) {
  return encoder_->forward(src_tokens, src_lengths, return_all_hiddens);
}

// prev_output_tokens: (B, L) -> (B, L, V) or (B, 1, V)
at::Tensor ConformerModel::decode(const at::Tensor& prev_output_tokens, const EncoderOut& enc,
                                  IncrementalState* state) {
  return decoder_->forward(prev_output_tokens, enc.encoder_out, enc.encoder_padding_mask, state);
}

std::vector<std::string> ConformerModel::ignored_keys() const {
  auto keys = Model::ignored_keys();
  if (options_.share_decoder_input_output_embed) keys.push_back("decoder.output_projection.weight");
  return keys;
}

// Presets (fairseq's register_model_architecture) ---------------------------------------------

namespace {

// FBK s2t_transformer_fbk sizes: the decoder follows the encoder unless set.
void fbk_sizes(ConformerOptions& o, int64_t dim, int64_t ffn, int64_t heads, double dropout) {
  o.encoder_embed_dim = o.decoder_embed_dim = dim;
  o.encoder_ffn_embed_dim = o.decoder_ffn_embed_dim = ffn;
  o.encoder_attention_heads = o.decoder_attention_heads = heads;
  o.dropout = o.attention_dropout = o.activation_dropout = dropout;
}

}  // namespace

}  // namespace trellis

TRELLIS_REGISTER_ARCH(
    "conformer_s", "conformer", trellis::ConformerOptions,
    [](trellis::ConformerOptions& o) { trellis::fbk_sizes(o, 256, 2048, 4, 0.1); },
    "FBK conformer, small: 256 dim, 4 heads, 12 encoder / 6 decoder layers");
TRELLIS_REGISTER_ARCH(
    "conformer_m", "conformer", trellis::ConformerOptions,
    [](trellis::ConformerOptions& o) { trellis::fbk_sizes(o, 512, 2048, 8, 0.15); },
    "FBK conformer, medium: 512 dim, 8 heads, dropout 0.15");
TRELLIS_REGISTER_ARCH(
    "conformer_l", "conformer", trellis::ConformerOptions,
    [](trellis::ConformerOptions& o) { trellis::fbk_sizes(o, 1024, 4096, 16, 0.2); },
    "FBK conformer, large: 1024 dim, FFN 4096, 16 heads, dropout 0.2");
TRELLIS_REGISTER_ARCH(
    "s2t_conformer", "conformer", trellis::ConformerOptions,
    [](trellis::ConformerOptions& o) {
      trellis::fbk_sizes(o, 256, 2048, 4, 0.1);
      o.conformer_variant = "upstream";
      o.encoder_layers = 16;
      o.decoder_attention_heads = 8;
    },
    "fairseq's s2t_conformer: upstream conformer encoder, 256 dim, 16 layers");
TRELLIS_REGISTER_ARCH(
    "conformer", "conformer", trellis::ConformerOptions, [](trellis::ConformerOptions&) {},
    "FBK conformer: 512 dim, 8 heads, 12 encoder / 6 decoder layers");
TRELLIS_REGISTER(trellis::model_registry(), "conformer", trellis::ConformerModel,
                 trellis::ConformerOptions,
                 "speech encoder-decoder: FBK conformer encoder + transformer decoder");
