#pragma once
// --arch nest, nest_fastconformer_{small,medium,large} (model "nest"): NeMo's
// EncDecDenoiseMaskedTokenPredModel (NEST pretraining), a Model with the MaskedTokenModel
// capability (core/interfaces/masked_token_model.h). Keys:
//   encoder.*                      Fast Conformer encoder (models/fastconformer)
//   decoder.decoder_layers.0.*     MultiSoftmaxDecoder, Conv1d(D, C*G, 1) with bias
//   quantizer.proj.weight          [G*code_dim, F*combine] float32, frozen
//   quantizer.codebooks            [G, C, code_dim] float64, frozen
//   mask_processor.mask_embedding  [F] float32, frozen
// predict_masked():
//   targets   = quantizer(clean)                        (B, T/c, G)
//   masked    = block masking of noisy (generator)       frames -> mask_embedding
//   log_probs = decoder(encoder(masked, lengths))       (B, T/c, C, G)
// encode() runs the encoder only (EncoderOut, time-major), so fine-tuning code can reuse it.

#include <cstdint>
#include <utility>

#include "core/interfaces/masked_token_model.h"
#include "core/interfaces/model.h"
#include "models/fastconformer/fastconformer_encoder.h"
#include "models/fastconformer/fastconformer_options.h"
#include "models/nest/block_masking.h"
#include "models/nest/multi_softmax_decoder.h"
#include "models/nest/random_projection_quantizer.h"

namespace trellis {

struct NestOptions : FastConformerOptions {
  int64_t num_classes = 8192;
  int64_t num_books = 1;
  int64_t code_dim = 16;
  int64_t combine_time_steps = 8;
  double mask_prob = 0.01;
  int64_t block_size = 40;
  bool allow_overlap = true;

  template <class V>
  void visit(V& v) {
    FastConformerOptions::visit(v);
    v.field("num_classes", num_classes, "codebook size: classes per book (NeMo num_classes)");
    v.field("num_books", num_books, "number of codebooks / targets per position (NeMo num_books)");
    v.field("code_dim", code_dim, "width of the random projection and codes (NeMo code_dim)");
    v.field("combine_time_steps", combine_time_steps,
            "input frames stacked into one target (NeMo combine_time_steps; must equal the "
            "encoder's subsampling, 8)");
    v.field("mask_prob", mask_prob,
            "probability of a block starting at each frame (NeMo masking mask_prob)");
    v.field("block_size", block_size, "frames per masked block (NeMo block_size)");
    v.field("allow_overlap", allow_overlap,
            "blocks start anywhere and may overlap (NeMo allow_overlap; off: blocks on a grid)");
  }
  void validate() const;
};

class NestModel : public Model, public MaskedTokenModel {
 public:
  NestModel(const NestOptions& options, const ModelContext& ctx);

  MaskedTokenOutput predict_masked(const MaskedTokenInput& in, at::Generator generator) override;
  // src_tokens: (B, T, F); src_lengths: (B) -> encoder_out (T', B, D), padding mask (B, T')
  EncoderOut encode(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                    bool return_all_hiddens = false) override;
  bool has_decoder() const override { return false; }
  std::pair<int64_t, int64_t> max_positions() const override;

  FastConformerEncoder& encoder() { return encoder_; }
  RandomProjectionQuantizer& quantizer() { return quantizer_; }
  BlockMasking& mask_processor() { return mask_processor_; }
  MultiSoftmaxDecoder& decoder() { return decoder_; }

 private:
  NestOptions options_;
  FastConformerEncoder encoder_{nullptr};
  MultiSoftmaxDecoder decoder_{nullptr};
  RandomProjectionQuantizer quantizer_{nullptr};
  BlockMasking mask_processor_{nullptr};
};

}  // namespace trellis
