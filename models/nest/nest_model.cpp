#include "models/nest/nest_model.h"

#include <torch/torch.h>

#include <limits>

#include "core/error.h"
#include "models/fastconformer/fastconformer_presets.h"

namespace trellis {

void NestOptions::validate() const {
  FastConformerOptions::validate();
  TRELLIS_CHECK(num_classes > 0, ConfigError, "--num-classes: must be positive (got {})",
                num_classes);
  TRELLIS_CHECK(num_books > 0, ConfigError, "--num-books: must be positive (got {})", num_books);
  TRELLIS_CHECK(code_dim > 0, ConfigError, "--code-dim: must be positive (got {})", code_dim);
  // The dw_striding encoder maps 8 input frames to one output position; the targets must too.
  TRELLIS_CHECK(combine_time_steps == 8, ConfigError,
                "--combine-time-steps: must equal the encoder's subsampling factor 8 (got {})",
                combine_time_steps);
  TRELLIS_CHECK(mask_prob >= 0.0 && mask_prob <= 1.0, ConfigError,
                "--mask-prob: must be in [0, 1] (got {})", mask_prob);
  TRELLIS_CHECK(block_size > 0, ConfigError, "--block-size: must be positive (got {})",
                block_size);
}

NestModel::NestModel(const NestOptions& o, const ModelContext& ctx) : options_(o) {
  const int64_t input_dim =
      ctx.input_feat_per_channel > 0
          ? ctx.input_feat_per_channel * std::max<int64_t>(1, ctx.input_channels)
          : o.input_feat_per_channel;
  options_.input_feat_per_channel = input_dim;
  options_.validate();
  encoder_ = register_module("encoder", FastConformerEncoder(options_, input_dim));
  MultiSoftmaxDecoderOptions d;
  d.feat_in = options_.encoder_embed_dim;
  d.num_classes = options_.num_classes;
  d.num_books = options_.num_books;
  decoder_ = register_module("decoder", MultiSoftmaxDecoder(d));
  RandomProjectionQuantizerOptions q;
  q.feat_in = input_dim;
  q.code_dim = options_.code_dim;
  q.num_classes = options_.num_classes;
  q.num_books = options_.num_books;
  q.combine_time_steps = options_.combine_time_steps;
  quantizer_ = register_module("quantizer", RandomProjectionQuantizer(q));
  BlockMaskingOptions m;
  m.feat_in = input_dim;
  m.mask_prob = options_.mask_prob;
  m.block_size = options_.block_size;
  m.allow_overlap = options_.allow_overlap;
  mask_processor_ = register_module("mask_processor", BlockMasking(m));
}

MaskedTokenOutput NestModel::predict_masked(const MaskedTokenInput& in, at::Generator generator) {
  TRELLIS_CHECK(in.clean.sizes() == in.noisy.sizes(), DataError,
                "nest: clean and noisy features differ in shape");
  MaskedTokenOutput out;
  out.combine_time_steps = options_.combine_time_steps;
  out.targets = quantizer_->forward(in.clean).tokens;  // (B, T', G), no gradient
  BlockMaskingOutput masked = mask_processor_->forward(in.noisy, in.lengths, generator);
  out.frame_masks = masked.frame_mask;  // (B, T)
  FastConformerEncoderOut enc = encoder_->forward(masked.masked, in.lengths);
  out.log_probs = decoder_->forward(enc.x);  // (B, T', C, G)
  out.lengths = enc.lengths;
  return out;
}

EncoderOut NestModel::encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                             bool return_all_hiddens) {
  return encoder_->encode(src_tokens, src_lengths, return_all_hiddens);
}

std::pair<int64_t, int64_t> NestModel::max_positions() const {
  return {options_.max_source_positions, std::numeric_limits<int64_t>::max()};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::model_registry(), "nest", trellis::NestModel, trellis::NestOptions,
                 "NEST pretraining (NeMo): Fast Conformer encoder on block-masked noisy features "
                 "predicting random-projection tokens of the clean ones");
TRELLIS_REGISTER_ARCH("nest", "nest", trellis::NestOptions, [](trellis::NestOptions&) {},
                      "NEST with the Fast Conformer large layout (512 dim, 8 heads, 17 layers)");
TRELLIS_REGISTER_ARCH(
    "nest_fastconformer_small", "nest", trellis::NestOptions,
    [](trellis::NestOptions& o) { trellis::apply_fastconformer_preset(o, "small"); },
    "NEST on Fast Conformer small (176 dim, 4 heads, 16 layers)");
TRELLIS_REGISTER_ARCH(
    "nest_fastconformer_medium", "nest", trellis::NestOptions,
    [](trellis::NestOptions& o) { trellis::apply_fastconformer_preset(o, "medium"); },
    "NEST on Fast Conformer medium (256 dim, 4 heads, 16 layers)");
TRELLIS_REGISTER_ARCH(
    "nest_fastconformer_large", "nest", trellis::NestOptions,
    [](trellis::NestOptions& o) { trellis::apply_fastconformer_preset(o, "large"); },
    "NEST on Fast Conformer large (512 dim, 8 heads, 17 layers; NEST's default)");
