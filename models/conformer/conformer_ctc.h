#pragma once
// --arch conformer_ctc: the conformer encoder alone with a CTC head on its last layer (pure ASR
// with --criterion ctc). The head predicts the target dictionary (ctx.tgt_vocab_size, blank =
// ctx.blank), as fairseq's CTC models do; keys encoder.* (head encoder.ctc_fc.*), so FBK encoder
// weights load directly. forward() returns logits = CTC logits (T, B, V), time-major.

#include "models/conformer/conformer_encoder.h"
#include "models/conformer/conformer_options.h"
#include "core/interfaces/model.h"

namespace trellis {

class ConformerCtcModel : public Model {
 public:
  ConformerCtcModel(const ConformerOptions& options, const ModelContext& ctx);
  // src_tokens: (B, T, F*C) float; src_lengths: (B) int64 -> EncoderOut with ctc_logits
  // (T', B, V) and ctc_lengths (B)
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  bool has_decoder() const override { return false; }
  std::pair<int64_t, int64_t> max_positions() const override {
    return {options_.max_source_positions, options_.max_target_positions};
  }

 private:
  ConformerOptions options_;
  std::shared_ptr<SpeechEncoder> encoder_;
};

}  // namespace trellis
