#pragma once
// --arch fastconformer_ctc* (model "fastconformer_ctc"): NeMo's EncDecCTCModel layout, the Fast
// Conformer encoder (keys encoder.*) with ConvASRDecoder's head decoder.decoder_layers.0 =
// Conv1d(D, V, 1) (xavier-uniform weight) over the target dictionary (V = ctx.tgt_vocab_size,
// blank = ctx.blank). forward() returns logits = CTC logits (T', B, V), time-major, with
// ctc_lengths in encoder frames (docs/models.md, "Fast Conformer").
//   --w2v-path / --load-pretrained-encoder-from FILE: when training starts from scratch the
//     encoder.* weights of FILE (a trellis checkpoint, e.g. of a NEST run, or safetensors) are
//     copied; other keys (decoder.*, quantizer.*, mask_processor.*) are dropped.
//   --freeze-finetune-updates N: the encoder gets no gradient for the first N updates.

#include <torch/nn/modules/conv.h>

#include <map>
#include <string>

#include "core/interfaces/model.h"
#include "models/fastconformer/fastconformer_encoder.h"
#include "models/fastconformer/fastconformer_options.h"

namespace trellis {

// Copies every "encoder.*" tensor of `weights` into `encoder` (keys relative to it). Every
// encoder key must be present both ways with equal shapes: CheckpointError naming `file` and the
// key otherwise. Other keys are ignored. Returns the number of tensors copied.
size_t copy_encoder_weights(torch::nn::Module& encoder,
                            const std::map<std::string, at::Tensor>& weights,
                            const std::string& file);

class FastConformerCtcModel : public Model {
 public:
  FastConformerCtcModel(const FastConformerCtcOptions& options, const ModelContext& ctx);
  // src_tokens: (B, T, F) float; src_lengths: (B) int64 -> EncoderOut with encoder_out
  // (T', B, D), ctc_logits (T', B, V), ctc_lengths (B)
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  bool has_decoder() const override { return false; }
  std::pair<int64_t, int64_t> max_positions() const override;
  void load_pretrained() override;
  void set_num_updates(int64_t num_updates) override { num_updates_ = num_updates; }
  // True while --freeze-finetune-updates holds the encoder.
  bool encoder_frozen() const { return num_updates_ < options_.freeze_finetune_updates; }
  FastConformerEncoder& encoder() { return encoder_; }

 private:
  FastConformerCtcOptions options_;
  FastConformerEncoder encoder_{nullptr};
  torch::nn::Conv1d head_{nullptr};
  int64_t num_updates_ = 0;
};

}  // namespace trellis
