#pragma once
// --criterion ctc_multi_loss (FBK's CTCMultiLoss; docs/criteria.md, "ctc_multi_loss").
// --ctc-encoder-layer, which FBK registers here, is an option of the model (conformer) in
// trellis: the model places the CTC head, the criterion only reads its output.

#include <memory>
#include <string>

#include "core/interfaces/criterion.h"

namespace trellis {

struct CtcMultiLossOptions {
  std::string underlying_criterion;
  double ctc_weight = 1.0;
  bool zero_infinity = true;

  template <class V>
  void visit(V& v) {
    v.field("underlying_criterion", underlying_criterion,
            "criterion of the decoder output (its options become available), "
            "e.g. label_smoothed_cross_entropy")
        .selects("criterion");
    v.field("ctc_weight", ctc_weight, "weight of the CTC loss: loss = w * ctc + underlying");
    v.field("zero_infinity", zero_infinity,
            "zero infinite CTC losses (inputs too short to align) and their gradients");
  }
  void validate() const;
};

// CTC on the encoder's CTC layer plus the underlying criterion on the decoder output:
//   ctc = sum CTC(log_softmax(float32(ctc_logits)), transcript without pad/eos), blank from ctx
//         (lengths: ctc_lengths; units: transcript_lengths - 1 per row)
//   real = underlying criterion on (decoder_logits, target)
//   loss = ctc_weight * ctc + real
//   sample_size (returned, the gradient denominator) = B with sentence_avg, else
//         sum transcript_lengths (units + one eos per sentence)
// Stats = the underlying stats (sample_size, ntokens: the target's) with loss = the combined
//   sum, plus ctc_loss and real_loss (raw sums).
// reduce_metrics = the underlying reduce_metrics, then real_loss and ctc_loss = sum /
//   sum sample_size (the target's) / ln 2 (3 decimals), in that order after the scalars.
class CtcMultiLoss : public Criterion {
 public:
  // ctx.underlying_options: the resolved options of --underlying-criterion (else defaults).
  CtcMultiLoss(const CtcMultiLossOptions& options, const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;
  void train(bool on = true) override;
  // The underlying criterion reads the decoder; the CTC branch reads the source transcript.
  static CriterionNeeds needs(const CtcMultiLossOptions&) { return {true, true, true}; }

  const Criterion& underlying() const { return *underlying_; }

 private:
  CtcMultiLossOptions options_;
  CriterionContext ctx_;
  std::unique_ptr<Criterion> underlying_;
};

}  // namespace trellis
