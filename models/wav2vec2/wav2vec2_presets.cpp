// Architecture presets of the wav2vec 2.0 family (fairseq's register_model_architecture and
// the published checkpoints; docs/models.md). The struct defaults are fairseq's
// fine-tuning defaults (Wav2Vec2AsrConfig) at the base size.
#include "models/wav2vec2/wav2vec2.h"
#include "models/wav2vec2/wav2vec2_ctc.h"

namespace trellis {
namespace {

// facebook/wav2vec2-large(-960h) and LibriSpeech large: 1024 dim, 24 layers, 16 heads.
void large(Wav2Vec2Options& o) {
  o.encoder_embed_dim = 1024;
  o.encoder_ffn_embed_dim = 4096;
  o.encoder_layers = 24;
  o.encoder_attention_heads = 16;
}

// LV-60, XLS-R, chinese-wav2vec2-large: layer-norm extractor with conv bias, pre-LN layers.
void large_lv60(Wav2Vec2Options& o) {
  large(o);
  o.extractor_mode = "layer_norm";
  o.conv_bias = true;
  o.layer_norm_first = true;
}

// fairseq's pretraining values (Wav2Vec2Config, base): dropouts, masking, gradient scale.
void pretraining(Wav2Vec2Options& o) {
  o.dropout = o.attention_dropout = 0.1;
  o.activation_dropout = 0.0;
  o.dropout_input = 0.1;
  o.layerdrop = 0.05;
  o.mask_prob = 0.65;
  o.feature_grad_mult = 0.1;
}

}  // namespace
}  // namespace trellis

using trellis::Wav2Vec2Options;

TRELLIS_REGISTER_ARCH(
    "wav2vec2_ctc", "wav2vec2_ctc", Wav2Vec2Options, [](Wav2Vec2Options&) {},
    "wav2vec2 base + CTC head (768 dim, 12 layers, group-norm extractor)");
TRELLIS_REGISTER_ARCH(
    "wav2vec2_ctc_base", "wav2vec2_ctc", Wav2Vec2Options, [](Wav2Vec2Options&) {},
    "wav2vec2 base + CTC head (facebook/wav2vec2-base(-960h) layout)");
TRELLIS_REGISTER_ARCH("wav2vec2_ctc_large", "wav2vec2_ctc", Wav2Vec2Options, trellis::large,
                      "wav2vec2 large + CTC head (1024 dim, 24 layers; wav2vec2-large-960h)");
TRELLIS_REGISTER_ARCH("wav2vec2_ctc_large_lv60", "wav2vec2_ctc", Wav2Vec2Options,
                      trellis::large_lv60,
                      "wav2vec2 large LV-60 / XLS-R / chinese-wav2vec2-large layout + CTC head "
                      "(layer-norm extractor, pre-LN)");
TRELLIS_REGISTER_ARCH(
    "wav2vec2", "wav2vec2", Wav2Vec2Options, trellis::pretraining,
    "wav2vec2 base body (pretraining-shaped encoder without the contrastive heads)");
TRELLIS_REGISTER_ARCH("wav2vec2_base", "wav2vec2", Wav2Vec2Options, trellis::pretraining,
                      "wav2vec2 base body");
TRELLIS_REGISTER_ARCH(
    "wav2vec2_large", "wav2vec2", Wav2Vec2Options,
    [](Wav2Vec2Options& o) {
      trellis::pretraining(o);
      trellis::large(o);
      o.feature_grad_mult = 1.0;
    },
    "wav2vec2 large body (LibriSpeech layout)");
TRELLIS_REGISTER_ARCH(
    "wav2vec2_large_lv60", "wav2vec2", Wav2Vec2Options,
    [](Wav2Vec2Options& o) {
      trellis::pretraining(o);
      trellis::large_lv60(o);
      o.dropout = o.attention_dropout = o.dropout_input = o.layerdrop = 0.0;
      o.feature_grad_mult = 1.0;
    },
    "wav2vec2 large LV-60 body (layer-norm extractor, pre-LN)");
TRELLIS_REGISTER(trellis::model_registry(), "wav2vec2", trellis::Wav2Vec2Model,
                 trellis::Wav2Vec2Options,
                 "wav2vec 2.0 body alone (features for downstream models)");
