#pragma once
// --arch wav2vec2 / wav2vec2_base / wav2vec2_large / wav2vec2_large_lv60 (model "wav2vec2"):
// fairseq's Wav2Vec2Model with its pretraining heads (docs/ssl.md, "wav2vec 2.0 pretraining").
// Keys: the body's (feature_extractor.*, layer_norm.*, post_extract_proj.*, mask_emb, encoder.*)
// plus quantizer.{vars, weight_proj.*}, project_q.*, final_proj.* (Hugging Face:
// quantizer.codevectors, project_q, project_hid). encode() runs the body alone (features for
// downstream use); contrastive_forward() is one pretraining step (fairseq's forward):
//   features = extractor(wav) (gradient x --feature-grad-mult); features_pen = mean(features^2)
//   u = layer_norm(features); x = dropout_input(post_extract_proj(u))
//   mask: compute_mask_indices(--mask-prob, --mask-length, min 2, same count per row), drawn in
//     training and validation alike; x[mask] = mask_emb; c = encoder(x)
//   y = project_q(quantizer(dropout_features(u)[mask]))          (B, M, final_dim)
//   negatives: K = --num-negatives per masked frame, uniformly among the OTHER masked frames of
//     the same utterance (index in [0, M-2], +1 when >= own); --cross-sample-negatives from all
//     B*M masked frames (+1 past own flat index)
//   logits = cos(final_proj(c[mask]), [y; negs]) / --logit-temp, (1+K, B, M); a negative equal
//     to its positive gets -inf; returned as (M*B, 1+K) (fairseq's get_logits order)
// The Gumbel temperature follows set_num_updates (restored with the update count); every random
// draw uses torch's default generator, which the trainer reseeds per update and checkpoints, so
// a resumed run is bitwise the same.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "core/interfaces/contrastive_model.h"
#include "models/wav2vec2/gumbel_vector_quantizer.h"
#include "models/wav2vec2/wav2vec2.h"

namespace trellis {

// fairseq's Wav2Vec2Config pretraining fields on top of the body's options.
struct Wav2Vec2PretrainingOptions : Wav2Vec2Options {
  int64_t latent_vars = 320;
  int64_t latent_groups = 2;
  int64_t latent_dim = 0;  // codeword width vq_dim; 0 = final_dim
  std::vector<double> latent_temp{2.0, 0.5, 0.999995};
  int64_t final_dim = 256;  // 0 = encoder_embed_dim
  int64_t num_negatives = 100;
  int64_t cross_sample_negatives = 0;
  double logit_temp = 0.1;
  double dropout_features = 0.1;

  template <class V>
  void visit(V& v) {
    Wav2Vec2Options::visit(v);
    v.field("latent_vars", latent_vars, "codewords per group of the Gumbel quantizer (V)");
    v.field("latent_groups", latent_groups, "groups of the quantizer (G)");
    v.field("latent_dim", latent_dim,
            "width of the quantized vector (G codewords concatenated); 0 = --final-dim");
    v.field("latent_temp", latent_temp,
            "Gumbel temperature (max, min, decay): tau = max(max * decay^updates, min)");
    v.field("final_dim", final_dim,
            "dimension of the contrastive space (project_q, final_proj); 0 = "
            "--encoder-embed-dim");
    v.field("num_negatives", num_negatives,
            "distractors per masked frame from the same utterance's masked frames");
    v.field("cross_sample_negatives", cross_sample_negatives,
            "distractors per masked frame from every utterance of the batch");
    v.field("logit_temp", logit_temp, "temperature dividing the cosine similarities");
    v.field("dropout_features", dropout_features,
            "dropout of the unmasked features before quantization (the targets)");
  }
  void validate() const;
  int64_t contrastive_dim() const { return final_dim > 0 ? final_dim : encoder_embed_dim; }
  int64_t codeword_dim() const { return latent_dim > 0 ? latent_dim : contrastive_dim(); }
};

// fairseq's sample_negatives index draw, from torch's default generator (same calls, so the
// same values as fairseq for the same generator state). Returns (B, M*(K+X)) int64 indices
// into the (B*M) flattened targets, fairseq's layout: [same-utterance | cross-sample], the
// same-utterance part frame-major (frame j: entries j*K .. j*K+K-1, in [b*M, b*M+M) and never
// b*M+j); the whole row is then viewed as (M, K+X). Needs M >= 2 when K > 0.
at::Tensor sample_negative_indices(int64_t B, int64_t M, int64_t K, int64_t X);

// x: (B, M, C) predictions; y: (B, M, C) targets; negs: (N, B, M, C) -> (1+N, B, M) float
// cos(x, [y; negs]) / logit_temp, -inf where a negative equals its positive.
at::Tensor contrastive_logits(const at::Tensor& x, const at::Tensor& y, const at::Tensor& negs,
                              double logit_temp);

// Inputs tests may fix: all optional (undefined = drawn).
struct PretrainingDraws {
  at::Tensor time_mask;     // (B, T) bool, the same count per row
  at::Tensor negatives;     // (B, M*(K+X)) int64 as sample_negative_indices returns
  at::Tensor gumbel_noise;  // (B*M*G, V) float
};

class Wav2Vec2PretrainingModel : public Wav2Vec2Model, public ContrastiveModel {
 public:
  Wav2Vec2PretrainingModel(const Wav2Vec2PretrainingOptions& options, const ModelContext& ctx);
  std::map<std::string, at::Tensor> contrastive_forward(const at::Tensor& source,
                                                        const at::Tensor& lengths) override;
  // As contrastive_forward, with fixed draws; also returns "time_mask" (B, T) bool and
  // "negatives" (B, M*(K+X)) int64.
  std::map<std::string, at::Tensor> forward_with(const at::Tensor& source,
                                                 const at::Tensor& lengths,
                                                 const PretrainingDraws& draws);
  void set_num_updates(int64_t num_updates) override;
  // --w2v-path: the body as Wav2Vec2Model loads it, plus the quantizer, project_q and
  // final_proj when the file has them (Hugging Face or fairseq names).
  void load_pretrained() override;
  GumbelVectorQuantizer& quantizer() { return quantizer_; }
  const Wav2Vec2PretrainingOptions& pretraining_options() const { return popts_; }

 private:
  at::Tensor draw_time_mask(const at::Tensor& lengths, int64_t B, int64_t T);

  Wav2Vec2PretrainingOptions popts_;
  GumbelVectorQuantizer quantizer_{nullptr};
  torch::nn::Linear project_q_{nullptr};
  torch::nn::Linear final_proj_{nullptr};
  FastDropout dropout_features_{nullptr};
};

}  // namespace trellis
