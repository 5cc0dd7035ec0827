#pragma once
// A capability of pretraining models that predict the tokens of masked input frames (NEST's
// masked token prediction, docs/ssl.md). A model that has it derives from both Model and
// MaskedTokenModel; a task that pretrains this way asks for it with dynamic_cast and refuses an
// --arch without it (no task or engine code compares model names).
//
// One step (NeMo's EncDecDenoiseMaskedTokenPredModel):
//   targets   = quantizer(clean)                      frozen, from the clean features
//   masked    = block_mask(noisy, generator)          frames replaced by a frozen embedding
//   log_probs = log_softmax(decoder(encoder(masked)))
// The criterion (e.g. `mlm`) scores log_probs against targets on the masked frames only.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace trellis {

struct MaskedTokenInput {
  at::Tensor clean;    // (B, T, F) float: features of the clean audio (the targets' source)
  at::Tensor noisy;    // (B, T, F) float: features of the mixed audio (the encoder's input)
  at::Tensor lengths;  // (B) int64: valid frames of both; T is a multiple of combine_time_steps
};

struct MaskedTokenOutput {
  at::Tensor log_probs;    // (B, T', C, G) float: log-softmax over C classes for each of G books
  at::Tensor targets;      // (B, T', G) int64: the tokens of the clean features
  at::Tensor frame_masks;  // (B, T) float 0/1: 1 = input frame replaced by the mask embedding
  at::Tensor lengths;      // (B) int64: valid positions of log_probs (T' = T / combine)
  int64_t combine_time_steps = 1;  // input frames per output position (T / T')
};

class MaskedTokenModel {
 public:
  virtual ~MaskedTokenModel() = default;
  // in as above (on the model's device); `generator` draws the block masks (CPU generator, so
  // a batch masks the same way on any device and after a resume).
  virtual MaskedTokenOutput predict_masked(const MaskedTokenInput& in, at::Generator generator) = 0;
};

}  // namespace trellis
