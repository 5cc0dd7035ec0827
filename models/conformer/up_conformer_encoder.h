#pragma once
// Upstream fairseq's S2TConformerEncoder (docs/models.md, "Conformer family";
// keys encoder.*), selected by --conformer-variant upstream (the s2t_conformer preset).
//
//   x, L = subsample(feats, lengths)            (no padding zeroing, as upstream)
//   x = sqrt(D) x
//   abs: x += fairseq sinusoid (positions 2, 3, ... over valid frames); rel_pos: pos_emb =
//   ESPnet relative table (2T-1, D) passed to every layer; rope: rotation inside attention
//   x = linear(x); dropout; conformer_layers (UpConformerLayer); no final LayerNorm.
// The FBK CTC head (--ctc-encoder-layer, compression) is available here too (encoder.ctc_fc).
// FFN width = --encoder-ffn-embed-dim; kernel = --depthwise-conv-kernel-size; attention
// --attn-type none (fairseq MHA, abs only) or espnet (abs, rel_pos, rope).

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "models/conformer/conformer_options.h"
#include "models/conformer/ctc_compress.h"
#include "models/modules/conv1d_subsampler.h"
#include "models/modules/fast_dropout.h"
#include "models/modules/speech_encoder.h"

namespace trellis {

class UpConformerEncoderImpl : public SpeechEncoder {
 public:
  UpConformerEncoderImpl(const ConformerOptions& o, int64_t input_dim, int64_t ctc_vocab);
  // src: (B, T, F*C) float; lengths: (B) int64 -> EncoderOut (time-major outputs)
  EncoderOut forward(const at::Tensor& src, const at::Tensor& lengths,
                     bool return_all_hiddens = false) override;

 private:
  ConformerOptions o_;
  int64_t ctc_layer_ = 0;
  CtcCompressConfig compress_;
  std::shared_ptr<Subsampler> subsample_;
  torch::nn::Linear linear_{nullptr}, ctc_fc_{nullptr};
  torch::nn::ModuleList conformer_layers_;
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(UpConformerEncoder);

}  // namespace trellis
