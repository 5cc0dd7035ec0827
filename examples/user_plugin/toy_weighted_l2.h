#pragma once
#include "core/interfaces/criterion.h"

namespace toy {

// --criterion toy_weighted_l2: a criterion registered from a plugin.
//   loss = toy_weight * sum over the batch of decoder_logits^2   (sample size: sentences)
struct ToyWeightedL2Options {
  double toy_weight = 1.0;
  template <class V>
  void visit(V& v) {
    v.field("toy_weight", toy_weight, "weight of the L2 term");
  }
};

class ToyWeightedL2 : public trellis::Criterion {
 public:
  ToyWeightedL2(const ToyWeightedL2Options& options, const trellis::CriterionContext&)
      : options_(options) {}
  // net.decoder_logits: (B, L, V) float -> summed loss, sample size B.
  trellis::LossOutput forward(const trellis::NetOutput& net,
                              const trellis::CriterionTargets& targets) override;
  trellis::Stats reduce_scalars(const trellis::StatSums& summed) const override;

 private:
  ToyWeightedL2Options options_;
};

}  // namespace toy
