#pragma once
// Options of the wav2vec 2.0 family (--arch wav2vec2_*, wav2vec2_ctc_*). Keys are fairseq's
// Wav2Vec2Config / Wav2Vec2AsrConfig names (docs/models.md), plus the Hugging Face
// spelling --freeze-feature-encoder; presets live in wav2vec2.cpp.

#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace trellis {

struct Wav2Vec2Options {
  // feature extractor: "[(dim, kernel, stride)] * n + ..." as fairseq writes it
  std::string conv_feature_layers = "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2";
  std::string extractor_mode = "default";  // default = group norm in block 0; layer_norm
  bool conv_bias = false;
  // transformer encoder
  int64_t encoder_embed_dim = 768;
  int64_t encoder_ffn_embed_dim = 3072;
  int64_t encoder_layers = 12;
  int64_t encoder_attention_heads = 12;
  bool layer_norm_first = false;  // pre-LN (LV-60, XLS-R, chinese-wav2vec2-large)
  int64_t conv_pos = 128;
  int64_t conv_pos_groups = 16;
  // dropouts (fine-tuning values of Wav2Vec2AsrConfig)
  double dropout = 0.0;
  double attention_dropout = 0.0;
  double activation_dropout = 0.1;
  double dropout_input = 0.0;
  double final_dropout = 0.0;
  double layerdrop = 0.1;
  // masking (training only)
  bool apply_mask = true;
  double mask_prob = 0.5;
  int64_t mask_length = 10;
  double mask_channel_prob = 0.0;
  int64_t mask_channel_length = 10;
  // fine-tuning controls
  std::string w2v_path;
  double feature_grad_mult = 0.0;
  bool freeze_feature_encoder = false;
  int64_t freeze_finetune_updates = 0;
  bool checkpoint_activations = false;
  int64_t max_source_positions = 0;  // samples; 0 = unbounded
  int64_t max_target_positions = 1024;

  template <class V>
  void visit(V& v) {
    v.field("conv_feature_layers", conv_feature_layers,
            "feature extractor blocks as [(dim, kernel, stride)] * n + ... (fairseq syntax)");
    v.field("extractor_mode", extractor_mode,
            "default: GroupNorm in the first block only (base); layer_norm: LayerNorm in every "
            "block (large LV-60, XLS-R)")
        .choices({"default", "layer_norm"});
    v.field("conv_bias", conv_bias, "bias in the feature-extractor convolutions");
    v.field("encoder_embed_dim", encoder_embed_dim, "transformer dimension D");
    v.field("encoder_ffn_embed_dim", encoder_ffn_embed_dim, "transformer FFN dimension");
    v.field("encoder_layers", encoder_layers, "transformer layers");
    v.field("encoder_attention_heads", encoder_attention_heads, "attention heads");
    v.field("layer_norm_first", layer_norm_first,
            "pre-LN transformer layers (final LayerNorm after the last layer)");
    v.field("conv_pos", conv_pos, "kernel of the positional convolution");
    v.field("conv_pos_groups", conv_pos_groups, "groups of the positional convolution");
    v.field("dropout", dropout, "dropout in the transformer");
    v.field("attention_dropout", attention_dropout, "dropout of the attention weights");
    v.field("activation_dropout", activation_dropout, "dropout after the FFN activation");
    v.field("dropout_input", dropout_input, "dropout of the projected features");
    v.field("final_dropout", final_dropout, "dropout before the CTC projection");
    v.field("layerdrop", layerdrop, "probability of skipping a transformer layer in training")
        .alias("--encoder-layerdrop");  // fairseq's Wav2Vec2Config name
    v.field("apply_mask", apply_mask,
            "time/channel masking of the features in training (--no-apply-mask: off)");
    v.field("mask_prob", mask_prob, "fraction of frames starting a time mask span");
    v.field("mask_length", mask_length, "frames per time mask span");
    v.field("mask_channel_prob", mask_channel_prob, "fraction of channels starting a span");
    v.field("mask_channel_length", mask_channel_length, "channels per channel mask span");
    v.field("w2v_path", w2v_path,
            "pretrained weights: Hugging Face model.safetensors / pytorch_model.bin or a fairseq "
            "wav2vec2 .pt (the CTC head is new unless its shape matches)");
    v.field("feature_grad_mult", feature_grad_mult,
            "scale of the feature extractor's gradient; 0 = extractor frozen (fairseq)");
    v.field("freeze_feature_encoder", freeze_feature_encoder,
            "freeze the convolutional feature extractor (Hugging Face's name for "
            "--feature-grad-mult 0)");
    v.field("freeze_finetune_updates", freeze_finetune_updates,
            "train only the CTC projection for the first N updates");
    v.field("checkpoint_activations", checkpoint_activations,
            "recompute each transformer layer in the backward pass (gradient checkpointing)");
    v.field("max_source_positions", max_source_positions,
            "longest input in samples (0 = unbounded)");
    v.field("max_target_positions", max_target_positions, "longest target in tokens");
  }
  void validate() const;
  // The parsed extractor blocks (dim, kernel, stride); ConfigError on bad syntax.
  std::vector<std::tuple<int64_t, int64_t, int64_t>> conv_layers() const;
  // (longest source in samples, longest target); an unset source limit is unbounded.
  std::pair<int64_t, int64_t> max_positions() const;
  bool extractor_frozen() const { return freeze_feature_encoder || feature_grad_mult == 0.0; }
};

}  // namespace trellis
