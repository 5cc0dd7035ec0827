#include "models/fastconformer/fastconformer_options.h"

#include "core/error.h"

namespace trellis {

void FastConformerOptions::validate() const {
  TRELLIS_CHECK(encoder_embed_dim > 0 && encoder_layers >= 0, ConfigError,
                "--encoder-embed-dim {} and --encoder-layers {} must be positive",
                encoder_embed_dim, encoder_layers);
  TRELLIS_CHECK(encoder_attention_heads > 0 && encoder_embed_dim % encoder_attention_heads == 0,
                ConfigError, "--encoder-embed-dim {} must be a multiple of --encoder-attention-heads {}",
                encoder_embed_dim, encoder_attention_heads);
  TRELLIS_CHECK(conv_kernel_size > 0 && conv_kernel_size % 2 == 1, ConfigError,
                "--conv-kernel-size {} must be odd", conv_kernel_size);
  TRELLIS_CHECK(feed_forward_expansion_factor > 0 && subsampling_conv_channels > 0 &&
                    input_feat_per_channel > 0,
                ConfigError,
                "--feed-forward-expansion-factor, --subsampling-conv-channels and "
                "--input-feat-per-channel must be positive");
  TRELLIS_CHECK(conv_norm_type == "batch_norm" || conv_norm_type == "layer_norm", ConfigError,
                "--conv-norm-type {}: batch_norm or layer_norm", conv_norm_type);
  for (double p : {dropout, dropout_pre_encoder, dropout_emb, dropout_att})
    TRELLIS_CHECK(p >= 0.0 && p < 1.0, ConfigError, "dropout {} not in [0, 1)", p);
}

void FastConformerCtcOptions::validate() const {
  FastConformerOptions::validate();
  TRELLIS_CHECK(w2v_path.empty() || load_pretrained_encoder_from.empty() ||
                    w2v_path == load_pretrained_encoder_from,
                ConfigError, "--w2v-path {} and --load-pretrained-encoder-from {} differ",
                w2v_path, load_pretrained_encoder_from);
  TRELLIS_CHECK(freeze_finetune_updates >= 0, ConfigError,
                "--freeze-finetune-updates {} must be >= 0", freeze_finetune_updates);
}

std::string FastConformerCtcOptions::pretrained_path() const {
  return w2v_path.empty() ? load_pretrained_encoder_from : w2v_path;
}

}  // namespace trellis
