#pragma once
// --criterion mlm: masked token prediction loss (NeMo's MLMLoss / MultiMLMLoss; docs/criteria.md,
// "mlm"), for models with the MaskedTokenModel capability (NEST).

#include "core/interfaces/criterion.h"

namespace trellis {

struct MlmOptions {
  double mask_threshold = 0.8;

  template <class V>
  void visit(V& v) {
    v.field("mask_threshold", mask_threshold,
            "score an output position when more than this fraction of its input frames is masked");
  }
  void validate() const;
};

// Reads net.outputs: "log_probs" (B, T', C, G), "targets" (B, T', G) int64, "frame_masks" (B, T)
// 0/1 and net.combine_time_steps c (T = c * T'). An output position is selected when the mean of
// the frame mask over its c input frames is > mask_threshold (NeMo: at least 7 of 8 at 0.8).
// As NeMo, the selection uses the masks only (not "lengths"): masked frames decide.
//   loss = (1/G) * sum_g sum_{selected} -log_probs[b, t, target[b, t, g], g]
//   sample_size = number of selected positions, so loss / sample_size is NeMo's loss (the mean
//   NLL over the selected positions, averaged over books). No selected position: loss 0 (still
//   differentiable), sample_size 0.
// Stats: loss, masked (= sample_size), sample_size, n_correct and n_total (argmax == target over
//   selected positions and books), ntokens (targets.ntokens, else B * T'), nsentences.
// reduce_metrics: loss = sum loss / sum sample_size / ln 2 (fairseq's base 2, as every
//   criterion here), loss_nats = the same in nats (NeMo's logged value), masked, ntokens,
//   nsentences; accuracy = 100 n_correct / n_total.
class MlmCriterion : public Criterion {
 public:
  MlmCriterion(const MlmOptions& options, const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;
  static CriterionNeeds needs(const MlmOptions&) { return {/*decoder=*/false, /*ctc=*/false}; }

 private:
  MlmOptions options_;
};

}  // namespace trellis
