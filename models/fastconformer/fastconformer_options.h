#pragma once
// Options of NeMo's Fast Conformer encoder (ConformerEncoder with dw_striding subsampling and
// rel_pos attention; docs/models.md, "Fast Conformer") and of the CTC model on it. Flag names
// follow fairseq's spelling where one exists (--encoder-embed-dim, --encoder-layers, ...); the
// NeMo config key is named in each help text. Presets: fastconformer_presets.h.

#include <cstdint>
#include <string>

namespace trellis {

struct FastConformerOptions {
  int64_t input_feat_per_channel = 80;  // NeMo feat_in (the task's data config overrides it)
  int64_t subsampling_conv_channels = 256;
  int64_t encoder_embed_dim = 512;  // d_model
  int64_t encoder_layers = 17;      // n_layers
  int64_t encoder_attention_heads = 8;  // n_heads
  int64_t feed_forward_expansion_factor = 4;  // ff_expansion_factor
  int64_t conv_kernel_size = 9;
  std::string conv_norm_type = "batch_norm";
  bool xscaling = true;
  bool use_bias = true;
  bool no_syncbatchnorm = false;
  double dropout = 0.1;
  double dropout_pre_encoder = 0.1;
  double dropout_emb = 0.0;
  double dropout_att = 0.1;
  int64_t max_source_positions = 40000;  // input frames (NeMo pos_emb_max_len 5000 x 8)

  template <class V>
  void visit(V& v) {
    v.field("input_feat_per_channel", input_feat_per_channel,
            "input features per frame, NeMo feat_in (the task's data config overrides it)");
    v.field("subsampling_conv_channels", subsampling_conv_channels,
            "channels of the dw_striding subsampler (NeMo subsampling_conv_channels)");
    v.field("encoder_embed_dim", encoder_embed_dim, "model dimension (NeMo d_model)");
    v.field("encoder_layers", encoder_layers, "number of conformer layers (NeMo n_layers)");
    v.field("encoder_attention_heads", encoder_attention_heads,
            "attention heads (NeMo n_heads)");
    v.field("feed_forward_expansion_factor", feed_forward_expansion_factor,
            "feed-forward width = factor * encoder_embed_dim (NeMo ff_expansion_factor)");
    v.field("conv_kernel_size", conv_kernel_size,
            "depthwise conv kernel size, odd (NeMo conv_kernel_size)");
    v.field("conv_norm_type", conv_norm_type,
            "normalisation after the depthwise conv (NeMo conv_norm_type)")
        .choices({"batch_norm", "layer_norm"});
    v.field("xscaling", xscaling, "scale the subsampled input by sqrt(encoder_embed_dim)");
    v.field("use_bias", use_bias,
            "bias in the feed-forward, attention and conv-module linear/conv layers");
    v.field("no_syncbatchnorm", no_syncbatchnorm,
            "per-process BatchNorm statistics in a multi-process run (default: synchronised, "
            "NeMo's sync_batchnorm)");
    v.field("dropout", dropout, "dropout of every module output and inside the feed-forward");
    v.field("dropout_pre_encoder", dropout_pre_encoder,
            "dropout after the subsampler and xscaling (NeMo dropout_pre_encoder)");
    v.field("dropout_emb", dropout_emb, "dropout of the relative position embeddings");
    v.field("dropout_att", dropout_att, "dropout of the attention probabilities");
    v.field("max_source_positions", max_source_positions, "maximum input frames");
  }
  // ConfigError naming the flag for inconsistent values.
  void validate() const;
};

// The CTC model (--arch fastconformer_ctc*): encoder options plus fine-tuning controls.
struct FastConformerCtcOptions : FastConformerOptions {
  std::string w2v_path;                      // pretrained trellis checkpoint (encoder.* keys)
  std::string load_pretrained_encoder_from;  // fairseq's name for the same thing
  int64_t freeze_finetune_updates = 0;

  template <class V>
  void visit(V& v) {
    FastConformerOptions::visit(v);
    v.field("w2v_path", w2v_path,
            "checkpoint (trellis .pt or safetensors) whose encoder.* weights initialise the "
            "encoder when training starts from scratch (e.g. a NEST pretraining run)");
    v.field("load_pretrained_encoder_from", load_pretrained_encoder_from,
            "same as --w2v-path (fairseq's flag name); give only one of the two");
    v.field("freeze_finetune_updates", freeze_finetune_updates,
            "updates during which the encoder gets no gradient (only the CTC head learns)");
  }
  void validate() const;
  // The pretrained checkpoint path, whichever flag named it ("" = none).
  std::string pretrained_path() const;
};

}  // namespace trellis
