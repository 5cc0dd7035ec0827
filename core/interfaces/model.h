#pragma once
// Models (registry "model"), selected through an architecture preset (--arch, registry "arch").
//
// A model is a torch::nn::Module whose parameter and buffer names follow fairseq's checkpoint
// keys (encoder.subsample.conv_layers.0.weight, decoder.layers.0.self_attn.q_proj.bias, ...), so
// state dicts map one-to-one to and from fairseq checkpoints (docs/models.md).
// Registry factories return std::unique_ptr<Model>; convert it to std::shared_ptr<Model> when
// Module functions that need shared_from_this (modules(), named_modules()) are used.
//
// Calling convention (fairseq's): source features are batch-major (B, T, F*C) with lengths;
// encoder outputs are time-major (T, B, D); decoder logits are batch-major (B, L, V).

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/registry.h"

namespace trellis {

// What a model needs to know about the task (dictionaries, features) and the criterion.
struct ModelContext {
  int64_t input_feat_per_channel = 80;  // F
  int64_t input_channels = 1;           // C_in (the subsampler sees F*C_in channels)
  int64_t src_vocab_size = 0;           // source dictionary (CTC head); 0 = none
  int64_t tgt_vocab_size = 0;           // target dictionary (decoder)
  int64_t pad = 1;                      // padding index of the target dictionary
  int64_t eos = 2;
  int64_t blank = 0;         // CTC blank index ("<ctc_blank>" in the source dictionary)
  bool ctc_enabled = false;  // the criterion needs the CTC branch (ctc_multi_loss)
};

// fairseq's encoder_out dictionary.
struct EncoderOut {
  at::Tensor encoder_out;                  // (T', B, D) float, after CTC compression
  at::Tensor encoder_padding_mask;         // (B, T') bool, true = padding (always defined)
  at::Tensor ctc_logits;                   // (T, B, V_src) float at the CTC layer, or undefined
  at::Tensor ctc_lengths;                  // (B) int64, lengths of ctc_logits (pre-compression)
  std::vector<at::Tensor> encoder_states;  // (T_i, B, D) per layer, when asked for
};

struct ModelOutput {
  at::Tensor logits;  // decoder (B, L, V_tgt); encoder-only CTC models: (T, B, V) CTC logits
  EncoderOut encoder;
};

// Cached keys/values for incremental decoding (beam search). Every tensor is batch-first.
struct IncrementalState {
  std::map<std::string, at::Tensor> buffers;
  // new_order: (B') int64 indices into the current batch (beam reordering).
  void reorder(const at::Tensor& new_order);
};

class Model : public torch::nn::Module {
 public:
  ~Model() override = default;

  // src_tokens: (B, T, F*C) float; src_lengths: (B) int64.
  virtual EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                            bool return_all_hiddens = false);
  // prev_output_tokens: (B, L) int64 (eos first, right-padded with pad) -> (B, L, V) logits.
  // With `state`, only the last position is computed (B, 1, V), using and updating the cache.
  virtual at::Tensor decode(const at::Tensor& prev_output_tokens, const EncoderOut& encoder,
                            IncrementalState* state = nullptr);
  // Teacher-forced forward: encode + decode (encoder-only models: logits = CTC logits).
  virtual ModelOutput forward(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                              const at::Tensor& prev_output_tokens);
  virtual bool has_decoder() const { return true; }
  // Selects batch entries (beam search): new_order (B') int64.
  virtual EncoderOut reorder_encoder_out(const EncoderOut& encoder, const at::Tensor& new_order);
  // logits (..., V) -> float32 log-probabilities (log = true) or probabilities.
  virtual at::Tensor normalized_probs(const at::Tensor& logits, bool log) const;

  // Every parameter and buffer under its fairseq key.
  std::map<std::string, at::Tensor> state_dict() const;
  // Copies `sd` into the parameters/buffers by key. Keys of `sd` ending in one of
  // ignored_keys() are skipped (e.g. "embed_positions._float_tensor"); a shape mismatch throws
  // CheckpointError naming the key, and so does, with strict, a missing or unexpected key.
  void load_state_dict(const std::map<std::string, at::Tensor>& sd, bool strict = true);
  // Key suffixes fairseq/FBK checkpoints carry that hold no information here.
  virtual std::vector<std::string> ignored_keys() const;
  // (max source frames, max target tokens) the model accepts, for the task's size filter
  // (fairseq's model.max_positions()); unbounded by default.
  virtual std::pair<int64_t, int64_t> max_positions() const;
  // Initializes from the pretrained weights the options name (wav2vec2's --w2v-path). train
  // calls it once for a fresh model, never when a checkpoint is restored; generate never does.
  virtual void load_pretrained() {}
  // The trainer's update count whenever it changes (after each update and on a restore, as
  // fairseq's set_num_updates), for models whose behaviour depends on it
  // (--freeze-finetune-updates).
  virtual void set_num_updates(int64_t num_updates) { (void)num_updates; }
  // Number of parameter elements (what fairseq logs as "num. model params").
  int64_t num_parameters() const;
};

using ModelRegistry = Registry<Model, const ModelContext&>;
ModelRegistry& model_registry();

}  // namespace trellis
