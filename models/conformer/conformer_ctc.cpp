#include "models/conformer/conformer_ctc.h"

#include <torch/torch.h>

#include "core/error.h"
#include "models/conformer/conformer.h"

namespace trellis {

ConformerCtcModel::ConformerCtcModel(const ConformerOptions& o, const ModelContext& ctx)
    : options_(o) {
  o.validate();
  const int64_t vocab = ctx.tgt_vocab_size > 0 ? ctx.tgt_vocab_size : ctx.src_vocab_size;
  TRELLIS_CHECK(vocab > 0, ConfigError, "conformer_ctc needs a target dictionary");
  TRELLIS_CHECK(o.ctc_compress_strategy == "none", ConfigError,
                "conformer_ctc has no decoder: --ctc-compress-strategy must be none");
  options_.ctc_encoder_layer = 0;  // the last layer
  encoder_ = make_conformer_encoder(options_, conformer_input_dim(o, ctx), vocab);
  register_module("encoder", encoder_);
}

// src_tokens: (B, T, F*C); src_lengths: (B) -> EncoderOut
EncoderOut ConformerCtcModel::encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                                     bool return_all_hiddens) {
  return encoder_->forward(src_tokens, src_lengths, return_all_hiddens);
}

}  // namespace trellis

TRELLIS_REGISTER_ARCH(
    "conformer_ctc", "conformer_ctc", trellis::ConformerOptions, [](trellis::ConformerOptions&) {},
    "FBK conformer encoder (512 dim, 12 layers) with a CTC head, no decoder");
TRELLIS_REGISTER_ARCH(
    "conformer_ctc_s", "conformer_ctc", trellis::ConformerOptions,
    [](trellis::ConformerOptions& o) {
      o.encoder_embed_dim = 256;
      o.encoder_attention_heads = 4;
    },
    "FBK conformer encoder, small (256 dim, 4 heads, 12 layers), CTC head");
TRELLIS_REGISTER(trellis::model_registry(), "conformer_ctc", trellis::ConformerCtcModel,
                 trellis::ConformerOptions, "conformer encoder + CTC head (encoder-only ASR)");
