#pragma once
// fairseq's Wav2Vec2Model without the pretraining heads (docs/models.md, "Architecture"):
//   features = feature_extractor(wav)            (no-grad when frozen, else grad x mult)
//   features = layer_norm(features)              (LN over the extractor channels)
//   x = dropout_input(post_extract_proj(features))
//   training with --apply-mask: time spans -> mask_emb, channel spans -> 0
//   x = encoder(x, padding mask)
// Keys: feature_extractor.*, layer_norm.*, post_extract_proj.*, mask_emb, encoder.*.

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "models/modules/fast_dropout.h"
#include "models/wav2vec2/feature_extractor.h"
#include "models/wav2vec2/wav2vec2_encoder.h"
#include "models/wav2vec2/wav2vec2_options.h"

namespace trellis {

struct Wav2Vec2Output {
  at::Tensor x;                     // (T, B, D) float, encoder output
  at::Tensor padding_mask;          // (B, T) bool, true = padding
  at::Tensor lengths;               // (B) int64 frames
  at::Tensor features;              // (B, T, C) float, feature-extractor output (before layer_norm)
  at::Tensor unmasked_features;     // (B, T, C) float, after layer_norm (pretraining targets)
  std::vector<at::Tensor> hiddens;  // (T, B, D) per layer, when asked for
};

// Replaces masked frames/channels: x (B, T, D) float; time: (B, T) bool; channel: (B, D) bool
at::Tensor apply_feature_masks(const at::Tensor& x, const at::Tensor& mask_emb,
                               const at::Tensor& time, const at::Tensor& channel);

class Wav2Vec2BodyImpl : public torch::nn::Module {
 public:
  explicit Wav2Vec2BodyImpl(const Wav2Vec2Options& o);
  // wav: (B, S) float, zero-padded; lengths: (B) int64 samples or undefined (no padding mask)
  Wav2Vec2Output forward(const at::Tensor& wav, const at::Tensor& lengths, bool mask,
                         bool return_all_hiddens = false);
  // The two halves of forward, for pretraining (models/wav2vec2/wav2vec2_pretraining.h):
  // extract: extractor (grad x mult), layer_norm -> out.unmasked_features, post_extract_proj,
  //   dropout_input -> out.x (B, T, D); out.padding_mask, out.lengths, out.features as forward.
  Wav2Vec2Output extract(const at::Tensor& wav, const at::Tensor& lengths);
  // encode_masked: out.x (B, T, D) with `time` frames (B, T) bool replaced by mask_emb (undefined
  //   = none; applied in training and eval alike) -> out.x = encoder output (T, B, D).
  void encode_masked(Wav2Vec2Output& out, const at::Tensor& time, const at::Tensor& lengths,
                     bool return_all_hiddens = false);
  const FeatureExtractor& feature_extractor() const { return feature_extractor_; }
  int64_t embed_dim() const { return options_.encoder_embed_dim; }

 private:
  // (time, channel) masks for x: (B, T, D) with `lengths` valid frames -> (B, T), (B, D) bool
  std::pair<at::Tensor, at::Tensor> draw_masks(const at::Tensor& x, const at::Tensor& lengths);

  Wav2Vec2Options options_;
  FeatureExtractor feature_extractor_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Linear post_extract_proj_{nullptr};
  at::Tensor mask_emb_;
  FastDropout dropout_input_{nullptr};
  Wav2Vec2Encoder encoder_{nullptr};
};
TORCH_MODULE(Wav2Vec2Body);

}  // namespace trellis
