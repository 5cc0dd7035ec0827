#pragma once
// --arch transformer_lm (fairseq's TransformerLanguageModel; docs/models.md): fairseq's
// TransformerDecoder without encoder attention (models/modules/transformer_decoder.h), keys
// decoder.* as in fairseq checkpoints:
//   x = embed_scale * embed_tokens(tokens) + positions(tokens); dropout     (B, L, D)
//   per layer: x = LN(x + dropout(self_attn(x, causal mask)))               (post-norm default)
//              x = LN(x + dropout(fc2(dropout_act(act(fc1(x))))))
//   logits = x W^T, W = output_projection (V, D) or embed_tokens.weight when shared
// Position i sees tokens 0..i; the language_modeling task feeds [token before the block,
// block[:-1]] and scores block.

#include "core/interfaces/language_model.h"
#include "core/interfaces/model.h"
#include "models/modules/transformer_decoder.h"
#include "models/transformer_lm/transformer_lm_options.h"

namespace trellis {

class TransformerLmModel : public Model, public LanguageModel {
 public:
  TransformerLmModel(const TransformerLmOptions& options, const ModelContext& ctx);

  // tokens: (B, L) int64 -> (B, L, V) logits; with state (B, 1, V) for the last position.
  at::Tensor lm_logits(const at::Tensor& tokens, IncrementalState* state = nullptr) override;
  int64_t lm_vocab_size() const override { return vocab_; }

  // The Model view: decode() is lm_logits() (the encoder output is ignored); no encoder.
  at::Tensor decode(const at::Tensor& prev_output_tokens, const EncoderOut& encoder,
                    IncrementalState* state = nullptr) override;
  std::pair<int64_t, int64_t> max_positions() const override {
    return {0, options_.max_target_positions};
  }

 private:
  TransformerLmOptions options_;
  int64_t vocab_ = 0;
  TransformerDecoder decoder_{nullptr};
};

}  // namespace trellis
