#pragma once
#include "criteria/criterion.h"

namespace toy {

// --criterion toy_weighted_l2: a criterion registered from a plugin (options only show how a
// plugin adds flags; its loss follows the criterion interface of the trellis it is built for).
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
  double weight() const { return options_.toy_weight; }

 private:
  ToyWeightedL2Options options_;
};

}  // namespace toy
