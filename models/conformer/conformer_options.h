#pragma once
// Options of the conformer family (--arch conformer, s2t_conformer, conformer_s/m/l,
// conformer_ctc). Keys are fairseq's / FBK-fairseq's argument names (docs/models.md,
// "Conformer family"; docs/cli.md); presets live in conformer.cpp.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct ConformerOptions {
  // front end
  int64_t input_feat_per_channel = 80;
  int64_t input_channels = 1;
  std::vector<int64_t> conv_kernel_sizes = {5, 5};
  int64_t conv_channels = 1024;
  std::string conv_version = "s2t_transformer";
  int64_t conv_out_channels = 256;
  int64_t conv2d_subsampling_factor = 4;
  // encoder
  int64_t encoder_embed_dim = 512;
  int64_t encoder_ffn_embed_dim = 2048;
  int64_t encoder_layers = 12;
  int64_t encoder_attention_heads = 8;
  bool encoder_normalize_before = true;
  int64_t feed_forward_expansion_factor = 4;
  int64_t conv_expansion_factor = 2;
  double conformer_feedforward_dropout = 0.1;
  double conformer_attention_dropout = 0.1;
  double conformer_conv_dropout = 0.1;
  int64_t conformer_conv_kernel_size = 31;
  bool conformer_half_step_residual = true;
  bool no_syncbatchnorm = false;
  bool batch_unsafe_relative_shift = false;
  // upstream fairseq conformer (s2t_conformer)
  std::string conformer_variant = "fbk";
  std::string pos_enc_type = "abs";
  std::string attn_type = "none";
  int64_t depthwise_conv_kernel_size = 31;
  // CTC head and compression
  int64_t ctc_encoder_layer = 6;
  std::string ctc_compress_strategy = "none";
  int64_t ctc_compress_fixed_ratio = 4;
  int64_t ctc_compress_max_out_size = -1;
  // decoder
  int64_t decoder_embed_dim = 512;
  int64_t decoder_ffn_embed_dim = 2048;
  int64_t decoder_layers = 6;
  int64_t decoder_attention_heads = 8;
  bool decoder_normalize_before = true;
  bool decoder_learned_pos = false;
  bool share_decoder_input_output_embed = false;
  std::string activation_fn = "relu";
  // shared
  double dropout = 0.1;
  double attention_dropout = 0.1;
  double activation_dropout = 0.1;
  bool no_scale_embedding = false;
  int64_t max_source_positions = 6000;
  int64_t max_target_positions = 1024;
  bool checkpoint_activations = false;

  template <class V>
  void visit(V& v) {
    v.field("input_feat_per_channel", input_feat_per_channel,
            "input features per channel (the task's data config overrides it)");
    v.field("input_channels", input_channels, "input channels");
    v.field("conv_kernel_sizes", conv_kernel_sizes, "kernel sizes of the Conv1d subsampler layers");
    v.field("conv_channels", conv_channels, "channels in the Conv1d subsampler layers");
    v.field("conv_version", conv_version,
            "subsampler: s2t_transformer = Conv1d + GLU, convtransformer = Conv2d + ReLU")
        .choices({"s2t_transformer", "convtransformer"});
    v.field("conv_out_channels", conv_out_channels, "channels of the Conv2d subsampler");
    v.field("conv2d_subsampling_factor", conv2d_subsampling_factor,
            "time reduction of the Conv2d subsampler (2 or 3 stride-2 layers)")
        .choices({"4", "8"});
    v.field("encoder_embed_dim", encoder_embed_dim, "encoder embedding dimension");
    v.field("encoder_ffn_embed_dim", encoder_ffn_embed_dim,
            "encoder FFN dimension (FBK conformer: only the decoder's default)");
    v.field("encoder_layers", encoder_layers, "number of conformer layers");
    v.field("encoder_attention_heads", encoder_attention_heads, "encoder attention heads");
    v.field("encoder_normalize_before", encoder_normalize_before,
            "accepted for fairseq compatibility (conformer layers are always pre-norm)");
    v.field("feed_forward_expansion_factor", feed_forward_expansion_factor,
            "conformer FFN width = factor * encoder_embed_dim");
    v.field("conv_expansion_factor", conv_expansion_factor, "conformer conv expansion (only 2)");
    v.field("conformer_feedforward_dropout", conformer_feedforward_dropout,
            "dropout in the conformer feed-forward modules");
    v.field("conformer_attention_dropout", conformer_attention_dropout,
            "dropout of the conformer attention weights and output");
    v.field("conformer_conv_dropout", conformer_conv_dropout, "dropout in the conv module");
    v.field("conformer_conv_kernel_size", conformer_conv_kernel_size,
            "depthwise conv kernel size (odd)");
    v.field("conformer_half_step_residual", conformer_half_step_residual,
            "scale the FFN residuals by 0.5 (macaron)");
    v.field("no_syncbatchnorm", no_syncbatchnorm,
            "plain BatchNorm1d (single process: same math as SyncBatchNorm)");
    v.field("batch_unsafe_relative_shift", batch_unsafe_relative_shift,
            "relative shift on the padded matrix (faster; outputs depend on padding)");
    v.field("conformer_variant", conformer_variant,
            "fbk: FBK-fairseq's conformer encoder; upstream: fairseq's S2TConformerEncoder")
        .choices({"fbk", "upstream"});
    v.field("pos_enc_type", pos_enc_type, "upstream encoder: positional encoding")
        .choices({"abs", "rel_pos", "rope"});
    v.field("attn_type", attn_type, "upstream encoder: none = fairseq MHA, espnet = ESPnet")
        .choices({"none", "espnet"});
    v.field("depthwise_conv_kernel_size", depthwise_conv_kernel_size,
            "upstream encoder: depthwise conv kernel size (odd)");
    v.field("ctc_encoder_layer", ctc_encoder_layer,
            "encoder layer (1-based) feeding the CTC head (FBK default 6); 0 = the last");
    v.field("ctc_compress_strategy", ctc_compress_strategy, "CTC compression strategy")
        .choices({"none", "avg", "weighted", "softmax", "fixed"});
    v.field("ctc_compress_fixed_ratio", ctc_compress_fixed_ratio,
            "frames merged by --ctc-compress-strategy fixed");
    v.field("ctc_compress_max_out_size", ctc_compress_max_out_size,
            "maximum length after CTC compression (-1 = unbounded)");
    v.field("decoder_embed_dim", decoder_embed_dim, "decoder embedding dimension");
    v.field("decoder_ffn_embed_dim", decoder_ffn_embed_dim, "decoder FFN dimension");
    v.field("decoder_layers", decoder_layers, "number of decoder layers");
    v.field("decoder_attention_heads", decoder_attention_heads, "decoder attention heads");
    v.field("decoder_normalize_before", decoder_normalize_before, "pre-norm decoder layers");
    v.field("decoder_learned_pos", decoder_learned_pos, "learned decoder positions");
    v.field("share_decoder_input_output_embed", share_decoder_input_output_embed,
            "tie the decoder input embedding and output projection");
    v.field("activation_fn", activation_fn, "decoder FFN activation")
        .choices({"relu", "gelu", "swish"});
    v.field("dropout", dropout, "dropout probability");
    v.field("attention_dropout", attention_dropout, "decoder attention-weight dropout");
    v.field("activation_dropout", activation_dropout, "dropout after the decoder FFN activation");
    v.field("no_scale_embedding", no_scale_embedding, "do not scale embeddings by sqrt(dim)");
    v.field("max_source_positions", max_source_positions, "maximum input frames");
    v.field("max_target_positions", max_target_positions, "maximum target tokens");
    v.field("checkpoint_activations", checkpoint_activations,
            "recompute each conformer layer in the backward pass (saves memory)");
  }
  void validate() const;
};

}  // namespace trellis
