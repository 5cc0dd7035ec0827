#include "models/transformer_lm/transformer_lm.h"

#include <torch/torch.h>

#include "core/error.h"

namespace trellis {

TransformerLmModel::TransformerLmModel(const TransformerLmOptions& o, const ModelContext& ctx)
    : options_(o), vocab_(ctx.tgt_vocab_size) {
  o.validate();
  TRELLIS_CHECK(vocab_ > 0, ConfigError, "transformer_lm needs a dictionary (the task gives none)");
  TransformerDecoderConfig c;
  c.vocab_size = vocab_;
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
  c.no_encoder_attn = true;
  decoder_ = register_module("decoder", TransformerDecoder(c));
}

// tokens: (B, L) int64 -> (B, L, V), or (B, 1, V) with a state
at::Tensor TransformerLmModel::lm_logits(const at::Tensor& tokens, IncrementalState* state) {
  TRELLIS_CHECK(tokens.size(1) <= options_.max_target_positions, DataError,
                "transformer_lm: {} tokens exceed --max-target-positions {}", tokens.size(1),
                options_.max_target_positions);
  return decoder_->forward(tokens, at::Tensor(), at::Tensor(), state);
}

at::Tensor TransformerLmModel::decode(const at::Tensor& prev, const EncoderOut&,
                                      IncrementalState* state) {
  return lm_logits(prev, state);
}

}  // namespace trellis

// Presets: fairseq's transformer_lm.py (base_lm_architecture and the named architectures).
TRELLIS_REGISTER_ARCH("transformer_lm", "transformer_lm", trellis::TransformerLmOptions,
                      [](trellis::TransformerLmOptions&) {},
                      "fairseq's transformer_lm: 512 dim, 2048 FFN, 6 layers, 8 heads, post-norm, "
                      "sinusoidal positions");
TRELLIS_REGISTER_ARCH(
    "transformer_lm_big", "transformer_lm", trellis::TransformerLmOptions,
    [](trellis::TransformerLmOptions& o) {
      o.decoder_layers = 12;
      o.decoder_embed_dim = 1024;
      o.decoder_ffn_embed_dim = 4096;
      o.decoder_attention_heads = 16;
    },
    "transformer_lm_big: 1024 dim, 4096 FFN, 12 layers, 16 heads");
TRELLIS_REGISTER_ARCH(
    "transformer_lm_gpt", "transformer_lm", trellis::TransformerLmOptions,
    [](trellis::TransformerLmOptions& o) {
      o.decoder_embed_dim = 768;
      o.decoder_ffn_embed_dim = 3072;
      o.decoder_layers = 12;
      o.decoder_attention_heads = 12;
      o.attention_dropout = 0.1;
      o.activation_fn = "gelu";
    },
    "transformer_lm_gpt: 768 dim, 3072 FFN, 12 layers, 12 heads, gelu, attention dropout 0.1");
TRELLIS_REGISTER_ARCH(
    "transformer_lm_gpt2_tiny", "transformer_lm", trellis::TransformerLmOptions,
    [](trellis::TransformerLmOptions& o) {
      o.decoder_embed_dim = 64;
      o.decoder_ffn_embed_dim = 64;
      o.decoder_layers = 2;
      o.decoder_attention_heads = 1;
      o.attention_dropout = 0.1;
      o.activation_fn = "gelu";
    },
    "transformer_lm_gpt2_tiny: 64 dim, 64 FFN, 2 layers, 1 head, gelu");
TRELLIS_REGISTER_ARCH(
    "transformer_lm_gpt2_small", "transformer_lm", trellis::TransformerLmOptions,
    [](trellis::TransformerLmOptions& o) {
      o.decoder_embed_dim = 1024;
      o.decoder_ffn_embed_dim = 4096;
      o.decoder_layers = 24;
      o.decoder_attention_heads = 16;
      o.attention_dropout = 0.1;
      o.activation_fn = "gelu";
    },
    "transformer_lm_gpt2_small: 1024 dim, 4096 FFN, 24 layers, 16 heads, gelu");
TRELLIS_REGISTER(trellis::model_registry(), "transformer_lm", trellis::TransformerLmModel,
                 trellis::TransformerLmOptions,
                 "transformer language model (decoder without encoder attention)");
