#pragma once
// --arch wav2vec2_ctc (model "wav2vec2_ctc"): fairseq's Wav2VecCtc / Hugging Face's
// Wav2Vec2ForCTC (docs/models.md): the wav2vec2 body, final_dropout, and a Linear(D, V)
// CTC projection over the target dictionary (blank = ctx.blank).
//   keys: w2v_encoder.w2v_model.* (the body) and w2v_encoder.proj.* (the head)
//   --freeze-finetune-updates N: for the first N updates the body runs without gradient and
//     only the head learns; --feature-grad-mult 0 / --freeze-feature-encoder keep the feature
//     extractor frozen for the whole run (its parameters are not trained at all).
//   --w2v-path: pretrained weights loaded when training starts from scratch.
// forward() returns logits = CTC logits (T, B, V), time-major, with ctc_lengths in frames.

#include "core/interfaces/model.h"
#include "models/wav2vec2/wav2vec2_body.h"
#include "models/wav2vec2/wav2vec2_options.h"

namespace trellis {

class Wav2Vec2CtcModel : public Model {
 public:
  Wav2Vec2CtcModel(const Wav2Vec2Options& options, const ModelContext& ctx);
  // src_tokens: (B, S[, 1]) float; src_lengths: (B) int64 samples -> ctc_logits (T, B, V),
  // ctc_lengths (B), encoder_out (T, B, D)
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  bool has_decoder() const override { return false; }
  std::pair<int64_t, int64_t> max_positions() const override;
  void load_pretrained() override;
  void set_num_updates(int64_t num_updates) override { num_updates_ = num_updates; }
  Wav2Vec2Body& body() { return body_; }
  // True while --freeze-finetune-updates holds the body.
  bool body_frozen() const;

 private:
  Wav2Vec2Options options_;
  Wav2Vec2Body body_{nullptr};
  FastDropout final_dropout_{nullptr};
  torch::nn::Linear proj_{nullptr};
  int64_t num_updates_ = 0;
};

}  // namespace trellis
