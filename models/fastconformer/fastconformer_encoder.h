#pragma once
// NeMo's Fast Conformer encoder (ConformerEncoder: dw_striding subsampling x8, rel_pos
// attention; docs/models.md, "Fast Conformer"). Keys, relative to the module (the models hold
// it under "encoder."): pre_encode.* (models/modules/dw_striding_subsampler.h) and
// layers.i.* (fastconformer_layer.h).
//   x, L = pre_encode(x, L)                          (B, T', D)
//   x = x * sqrt(D) (xscaling); pos_emb = rel positions T'-1 .. -(T'-1)
//   x = Dropout(dropout_pre_encoder)(x); pos_emb = Dropout(dropout_emb)(pos_emb)
//   x = layers(x, pad(L), pos_emb)
// forward() is batch-major (what NEST uses); encode() gives the trellis EncoderOut (time-major).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "core/interfaces/model.h"
#include "models/fastconformer/fastconformer_layer.h"
#include "models/fastconformer/fastconformer_options.h"
#include "models/modules/dw_striding_subsampler.h"
#include "models/modules/fast_dropout.h"

namespace trellis {

struct FastConformerEncoderOut {
  at::Tensor x;        // (B, T', D) float
  at::Tensor lengths;  // (B) int64, valid frames of x
  at::Tensor padding_mask;              // (B, T') bool, true = padding
  std::vector<at::Tensor> hiddens;      // (B, T', D) after each layer, when asked for
};

class FastConformerEncoderImpl : public torch::nn::Module {
 public:
  // input_dim: features per frame (F); the options give everything else.
  FastConformerEncoderImpl(const FastConformerOptions& options, int64_t input_dim);
  // x: (B, T, F) float, zero-padded; lengths: (B) int64 -> (B, T', D), lengths (B)
  FastConformerEncoderOut forward(const at::Tensor& x, const at::Tensor& lengths,
                                  bool return_all_hiddens = false);
  // The same as trellis's EncoderOut: encoder_out (T', B, D), encoder_padding_mask (B, T'),
  // encoder_states (T', B, D) per layer when asked for.
  EncoderOut encode(const at::Tensor& x, const at::Tensor& lengths,
                    bool return_all_hiddens = false);
  int64_t embed_dim() const { return options_.encoder_embed_dim; }
  DwStridingSubsampler& pre_encode() { return pre_encode_; }
  const FastConformerOptions& options() const { return options_; }

 private:
  FastConformerOptions options_;
  DwStridingSubsampler pre_encode_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  FastDropout dropout_pre_encoder_{nullptr}, dropout_emb_{nullptr};
};
TORCH_MODULE(FastConformerEncoder);

}  // namespace trellis
