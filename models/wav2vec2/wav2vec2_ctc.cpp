#include "models/wav2vec2/wav2vec2_ctc.h"

#include <torch/torch.h>

#include <optional>

#include "core/error.h"
#include "models/wav2vec2/wav2vec2.h"
#include "models/wav2vec2/wav2vec2_import.h"

namespace trellis {

Wav2Vec2CtcModel::Wav2Vec2CtcModel(const Wav2Vec2Options& o, const ModelContext& ctx)
    : options_(o) {
  const int64_t vocab = ctx.tgt_vocab_size > 0 ? ctx.tgt_vocab_size : ctx.src_vocab_size;
  TRELLIS_CHECK(vocab > 0, ConfigError, "wav2vec2_ctc needs a target dictionary");
  auto enc = register_module("w2v_encoder", std::make_shared<torch::nn::Module>());
  body_ = enc->register_module("w2v_model", Wav2Vec2Body(o));
  final_dropout_ = enc->register_module("final_dropout", FastDropout(o.final_dropout));
  proj_ = enc->register_module("proj", torch::nn::Linear(o.encoder_embed_dim, vocab));
  torch::nn::init::xavier_uniform_(proj_->weight);
  torch::nn::init::zeros_(proj_->bias);
}

std::pair<int64_t, int64_t> Wav2Vec2CtcModel::max_positions() const {
  return options_.max_positions();
}

bool Wav2Vec2CtcModel::body_frozen() const {
  return num_updates_ < options_.freeze_finetune_updates;
}

// src_tokens: (B, S[, 1]); src_lengths: (B) -> EncoderOut
EncoderOut Wav2Vec2CtcModel::encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                                    bool return_all_hiddens) {
  Wav2Vec2Output w;
  {
    std::optional<at::NoGradGuard> frozen;
    if (is_training() && body_frozen()) frozen.emplace();
    w = body_->forward(waveform_batch(src_tokens), src_lengths, /*mask=*/true, return_all_hiddens);
  }
  EncoderOut e;
  e.encoder_out = w.x;
  e.encoder_padding_mask = w.padding_mask;
  e.ctc_logits = proj_->forward(final_dropout_->forward(w.x));  // (T, B, V)
  e.ctc_lengths = w.lengths.to(w.x.device());
  e.encoder_states = std::move(w.hiddens);
  return e;
}

void Wav2Vec2CtcModel::load_pretrained() {
  if (options_.w2v_path.empty()) return;
  load_wav2vec2_weights(*this, "w2v_encoder.w2v_model.", options_, options_.w2v_path,
                        "w2v_encoder.proj.");
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::model_registry(), "wav2vec2_ctc", trellis::Wav2Vec2CtcModel,
                 trellis::Wav2Vec2Options,
                 "wav2vec 2.0 body + CTC projection (fine-tuning, encoder-only ASR)");
