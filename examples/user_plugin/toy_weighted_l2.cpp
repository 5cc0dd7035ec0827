#include "toy_weighted_l2.h"

#include <torch/torch.h>

namespace toy {

trellis::LossOutput ToyWeightedL2::forward(const trellis::NetOutput& net,
                                           const trellis::CriterionTargets&) {
  trellis::LossOutput out;
  out.loss = net.decoder_logits.pow(2).sum() * options_.toy_weight;
  out.sample_size = static_cast<double>(net.decoder_logits.size(0));
  out.stats = {{"loss", out.loss.item<double>()}, {"sample_size", out.sample_size}};
  return out;
}

trellis::Stats ToyWeightedL2::reduce_scalars(const trellis::StatSums& summed) const {
  return {{"loss", trellis::stat_sum(summed, "loss") / trellis::stat_sum(summed, "sample_size"), 3}};
}

}  // namespace toy

TRELLIS_REGISTER(trellis::criterion_registry(), "toy_weighted_l2", toy::ToyWeightedL2,
                 toy::ToyWeightedL2Options, "plugin example: weighted L2 of the decoder logits");
