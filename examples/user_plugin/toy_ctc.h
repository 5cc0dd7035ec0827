#pragma once
// --criterion toy_ctc: a CTC criterion from a plugin, declaring what it needs (CTC logits, no
// decoder) so that tasks build the model that fits without knowing its name.
//   loss = sum over the batch of CTC(ctc_logits, target without eos and pads), blank = ctx.blank
#include "core/interfaces/criterion.h"

namespace toy {

struct ToyCtcOptions {
  bool toy_zero_infinity = true;
  template <class V>
  void visit(V& v) {
    v.field("toy_zero_infinity", toy_zero_infinity, "zero the loss of impossible alignments");
  }
};

class ToyCtc : public trellis::Criterion {
 public:
  ToyCtc(const ToyCtcOptions& options, const trellis::CriterionContext& ctx)
      : options_(options), ctx_(ctx) {}
  static trellis::CriterionNeeds needs(const ToyCtcOptions&) {
    trellis::CriterionNeeds n;
    n.decoder = false;
    n.ctc = true;
    return n;
  }
  // net.ctc_logits: (T, B, V) float; targets.target: (B, L) int64 with eos -> summed loss,
  // sample size = target tokens (without eos).
  trellis::LossOutput forward(const trellis::NetOutput& net,
                              const trellis::CriterionTargets& targets) override;
  trellis::Stats reduce_scalars(const trellis::StatSums& summed) const override;

 private:
  ToyCtcOptions options_;
  trellis::CriterionContext ctx_;
};

}  // namespace toy
