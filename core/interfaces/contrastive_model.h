#pragma once
// A capability of pretraining models trained by contrasting the true quantized target of each
// masked frame with distractors (wav2vec 2.0; docs/ssl.md, "wav2vec 2.0 pretraining"). A model
// that has it derives from both Model and ContrastiveModel; a task that pretrains this way asks
// for it with dynamic_cast and refuses an --arch without it (no task code compares names).
//
// One step (fairseq's Wav2Vec2Model.forward in pretraining):
//   masked frames are replaced by an embedding; the encoder's output at each masked frame is
//   compared (cosine / logit_temp) with the quantized target of that frame (index 0) and with
//   negatives drawn from the other masked frames of the same utterance (indices 1..K).
// contrastive_forward returns what fairseq's net_output holds, as NetOutput::outputs entries:
//   "logits"          (N, 1+K) float: N = masked frames of the batch (fairseq's get_logits order)
//   "features_pen"    () float: mean square of the feature extractor's output
//   "prob_perplexity" () float, differentiable; "code_perplexity" () float; "num_vars" () float
//   (groups * vars); "temp" () float: the Gumbel temperature of this step

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace trellis {

class ContrastiveModel {
 public:
  virtual ~ContrastiveModel() = default;
  // source: (B, S) float waveforms; lengths: (B) int64 samples, or undefined when no row is
  // padded (tensors on the model's device). Random draws (masks, negatives, Gumbel noise) come
  // from torch's default generator, which the trainer seeds per update.
  virtual std::map<std::string, at::Tensor> contrastive_forward(const at::Tensor& source,
                                                                const at::Tensor& lengths) = 0;
};

}  // namespace trellis
