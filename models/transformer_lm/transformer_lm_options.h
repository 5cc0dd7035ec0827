#pragma once
// Options of --arch transformer_lm and its presets (fairseq's TransformerLanguageModelConfig and
// base_lm_architecture; presets in transformer_lm.cpp, docs/models.md "transformer_lm").

#include <cstdint>
#include <string>

#include "core/error.h"

namespace trellis {

struct TransformerLmOptions {
  std::string activation_fn = "relu";
  double dropout = 0.1;
  double attention_dropout = 0.0;
  double activation_dropout = 0.0;
  int64_t decoder_embed_dim = 512;
  int64_t decoder_ffn_embed_dim = 2048;
  int64_t decoder_layers = 6;
  int64_t decoder_attention_heads = 8;
  bool decoder_normalize_before = false;
  bool decoder_learned_pos = false;
  bool share_decoder_input_output_embed = false;
  bool no_scale_embedding = false;
  int64_t max_target_positions = 1024;

  template <class V>
  void visit(V& v) {
    v.field("activation_fn", activation_fn, "activation of the feed-forward blocks")
        .choices({"relu", "gelu", "swish"});
    v.field("dropout", dropout, "dropout probability");
    v.field("attention_dropout", attention_dropout, "dropout on the attention weights");
    v.field("activation_dropout", activation_dropout, "dropout after the FFN activation");
    v.field("decoder_embed_dim", decoder_embed_dim, "embedding / model dimension");
    v.field("decoder_ffn_embed_dim", decoder_ffn_embed_dim, "feed-forward inner dimension");
    v.field("decoder_layers", decoder_layers, "number of decoder layers");
    v.field("decoder_attention_heads", decoder_attention_heads, "attention heads");
    v.field("decoder_normalize_before", decoder_normalize_before,
            "layer norm before each block (pre-norm; adds a final layer norm)");
    v.field("decoder_learned_pos", decoder_learned_pos,
            "learned positional embeddings instead of sinusoidal ones");
    v.field("share_decoder_input_output_embed", share_decoder_input_output_embed,
            "output projection = input embedding matrix");
    v.field("no_scale_embedding", no_scale_embedding, "do not scale embeddings by sqrt(dim)");
    v.field("max_target_positions", max_target_positions,
            "longest token block the model accepts (positions)");
  }
  void validate() const {
    TRELLIS_CHECK(decoder_embed_dim > 0 && decoder_layers >= 0 && decoder_attention_heads > 0 &&
                      decoder_embed_dim % decoder_attention_heads == 0,
                  ConfigError,
                  "--decoder-embed-dim {} must be a positive multiple of "
                  "--decoder-attention-heads {}",
                  decoder_embed_dim, decoder_attention_heads);
    TRELLIS_CHECK(max_target_positions > 0, ConfigError, "--max-target-positions must be > 0");
  }
};

}  // namespace trellis
