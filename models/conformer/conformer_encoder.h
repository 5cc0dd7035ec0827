#pragma once
// FBK-fairseq's ConformerEncoder (docs/models.md, "Conformer family"; keys encoder.*).
//
//   x, L = subsample(feats, lengths); x = sqrt(D) x (1 without scaling); dropout
//   for l = 1..N: x = conformer_layers[l-1](x, pad)
//     if CTC and l == ctc_encoder_layer: ctc = ctc_fc(x) (logits, pre-compression lengths L);
//       with a strategy: x, L = ctc_compress(x, ctc, L); pad recomputed
// No positional embedding (positions live in the relative attention), no final LayerNorm.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "models/conformer/conformer_options.h"
#include "models/conformer/ctc_compress.h"
#include "core/interfaces/model.h"
#include "models/modules/conv1d_subsampler.h"
#include "models/modules/fast_dropout.h"
#include "models/modules/speech_encoder.h"

namespace trellis {

// The front end selected by --conv-version (Conv1d + GLU with FBK's padding zeroing when
// mask_padding, or Conv2d x4/x8).
std::shared_ptr<Subsampler> make_subsampler(const ConformerOptions& o, int64_t input_dim,
                                            bool mask_padding);

class ConformerEncoderImpl : public SpeechEncoder {
 public:
  // ctc_vocab: size of the CTC head's vocabulary (0 = no CTC head).
  ConformerEncoderImpl(const ConformerOptions& o, int64_t input_dim, int64_t ctc_vocab);
  // src: (B, T, F*C) float; lengths: (B) int64 -> EncoderOut (time-major outputs)
  EncoderOut forward(const at::Tensor& src, const at::Tensor& lengths,
                     bool return_all_hiddens = false) override;
  bool has_ctc() const { return !ctc_fc_.is_empty(); }
  int64_t ctc_layer() const { return ctc_layer_; }

 private:
  // x: (T, B, D); pad: (B, T) bool -> (T, B, D), recomputed in backward when checkpointing
  at::Tensor run_layer(size_t i, const at::Tensor& x, const at::Tensor& pad);

  ConformerOptions o_;
  int64_t ctc_layer_ = 0;
  CtcCompressConfig compress_;
  std::shared_ptr<Subsampler> subsample_;
  torch::nn::ModuleList conformer_layers_;
  torch::nn::Linear ctc_fc_{nullptr};
  FastDropout dropout_{nullptr};
};
TORCH_MODULE(ConformerEncoder);

}  // namespace trellis
