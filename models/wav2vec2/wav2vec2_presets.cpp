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
// The wav2vec2* presets (the pretraining model) are in wav2vec2_pretraining.cpp.
