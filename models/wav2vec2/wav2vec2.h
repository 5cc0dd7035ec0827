#pragma once
// The wav2vec 2.0 body as a model: fairseq's Wav2Vec2Model keys without a prefix
// (feature_extractor.*, layer_norm.*, post_extract_proj.*, mask_emb, encoder.*). encode() returns
// the transformer output as encoder_out (T, B, D); there is no output layer. The registered
// model "wav2vec2" (--arch wav2vec2, wav2vec2_base, wav2vec2_large, wav2vec2_large_lv60) is its
// subclass with the pretraining heads (wav2vec2_pretraining.h).
// Input: raw 16 kHz waveforms as the task gives them, (B, S) or (B, S, 1) with lengths in
// samples.

#include "core/interfaces/model.h"
#include "models/wav2vec2/wav2vec2_body.h"
#include "models/wav2vec2/wav2vec2_options.h"

namespace trellis {

// src: (B, S) or (B, S, 1) float -> (B, S)
at::Tensor waveform_batch(const at::Tensor& src);

class Wav2Vec2Model : public Model {
 public:
  Wav2Vec2Model(const Wav2Vec2Options& options, const ModelContext& ctx);
  // src_tokens: (B, S[, 1]) float; src_lengths: (B) int64 samples -> encoder_out (T, B, D)
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  bool has_decoder() const override { return false; }
  std::pair<int64_t, int64_t> max_positions() const override;
  void load_pretrained() override;

 protected:
  Wav2Vec2Body& body() { return body_; }  // for the pretraining model (wav2vec2_pretraining.h)
  const Wav2Vec2Options& options() const { return options_; }

 private:
  Wav2Vec2Options options_;
  Wav2Vec2Body body_{nullptr};  // its parts are this model's children
};

}  // namespace trellis
