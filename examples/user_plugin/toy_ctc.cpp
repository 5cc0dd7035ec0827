#include "toy_ctc.h"

#include <torch/torch.h>

namespace toy {

trellis::LossOutput ToyCtc::forward(const trellis::NetOutput& net,
                                    const trellis::CriterionTargets& targets) {
  at::Tensor lprobs = torch::log_softmax(net.ctc_logits.to(torch::kFloat), -1);  // (T, B, V)
  at::Tensor lengths = targets.target_lengths - 1;                               // drop eos
  at::Tensor loss = torch::ctc_loss(lprobs, targets.target, net.ctc_lengths, lengths, ctx_.blank,
                                    at::Reduction::Sum, options_.toy_zero_infinity);
  trellis::LossOutput out;
  out.loss = loss;
  out.sample_size = static_cast<double>(lengths.sum().item<int64_t>());
  out.stats = {{"loss", loss.item<double>()},
               {"ntokens", out.sample_size},
               {"nsentences", static_cast<double>(targets.target.size(0))},
               {"sample_size", out.sample_size}};
  return out;
}

trellis::Stats ToyCtc::reduce_scalars(const trellis::StatSums& summed) const {
  return {{"loss", trellis::base2(trellis::stat_sum(summed, "loss"),
                                  trellis::stat_sum(summed, "sample_size")),
           3}};
}

}  // namespace toy

TRELLIS_REGISTER(trellis::criterion_registry(), "toy_ctc", toy::ToyCtc, toy::ToyCtcOptions,
                 "plugin example: CTC on the target digits");
