#pragma once
// --arch conformer (FBK-fairseq's ConformerModel; docs/models.md, "Conformer family"):
// ConformerEncoder (Conv1d subsampler, FBK conformer layers, CTC head at --ctc-encoder-layer
// with optional CTC compression) + fairseq TransformerDecoder. Presets: conformer (FBK
// defaults), conformer_s/_m/_l (FBK s2t sizes), s2t_conformer (upstream fairseq sizes on this
// encoder). State-dict keys are FBK's (docs/models.md).

#include "models/conformer/conformer_encoder.h"
#include "models/conformer/conformer_options.h"
#include "models/conformer/up_conformer_encoder.h"
#include "core/interfaces/model.h"
#include "models/modules/transformer_decoder.h"

namespace trellis {

class ConformerModel : public Model {
 public:
  // ctx.src_vocab_size feeds the CTC head (enabled by ctx.ctc_enabled or a compression
  // strategy); ctx.tgt_vocab_size and ctx.pad the decoder.
  ConformerModel(const ConformerOptions& options, const ModelContext& ctx);

  // src_tokens: (B, T, F*C) float; src_lengths: (B) int64 -> EncoderOut
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  // prev_output_tokens: (B, L) int64 -> (B, L, V) logits, or (B, 1, V) with a state
  at::Tensor decode(const at::Tensor& prev_output_tokens, const EncoderOut& encoder,
                    IncrementalState* state = nullptr) override;
  std::vector<std::string> ignored_keys() const override;
  std::pair<int64_t, int64_t> max_positions() const override {
    return {options_.max_source_positions, options_.max_target_positions};
  }
  const ConformerOptions& options() const { return options_; }

 private:
  ConformerOptions options_;
  std::shared_ptr<SpeechEncoder> encoder_;
  TransformerDecoder decoder_{nullptr};
};

// Translates the model options into the decoder's configuration.
TransformerDecoderConfig conformer_decoder_config(const ConformerOptions& o,
                                                  const ModelContext& ctx);
// The encoder selected by --conformer-variant (keys "encoder.*").
std::shared_ptr<SpeechEncoder> make_conformer_encoder(const ConformerOptions& o, int64_t input_dim,
                                                      int64_t ctc_vocab);
// F * C_in seen by the subsampler: the task's feature size when it gives one.
int64_t conformer_input_dim(const ConformerOptions& o, const ModelContext& ctx);

}  // namespace trellis
