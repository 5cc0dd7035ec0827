#pragma once
// --criterion cross_entropy (fairseq's CrossEntropyCriterion; docs/criteria.md
// "cross_entropy"): the negative log-likelihood of the targets under the decoder output, what
// language models train with (and label_smoothed_cross_entropy at eps 0, minus its options).
//   lprobs = log_softmax(decoder_logits) in float32 (float64 stays float64)   (B, L, V)
//   loss   = sum over positions with target != pad of -lprobs[target]
//   ntokens = targets.ntokens, else the non-pad targets;  sample_size = B (--sentence-avg) or
//   ntokens.  Stats: loss, ntokens, nsentences, sample_size.
// reduce_metrics (fairseq's order): loss = sum loss / sum sample_size / ln 2 (3 decimals);
//   when sample_size != ntokens also nll_loss = sum loss / sum ntokens / ln 2 (3); then
//   ppl = 2^nll_loss (or 2^loss when there is no nll_loss), 2 decimals.

#include "core/interfaces/criterion.h"

namespace trellis {

struct CrossEntropyOptions {
  template <class V>
  void visit(V&) {}
  void validate() const {}
};

class CrossEntropyCriterion : public Criterion {
 public:
  CrossEntropyCriterion(const CrossEntropyOptions& options, const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;

 private:
  CriterionContext ctx_;
};

}  // namespace trellis
