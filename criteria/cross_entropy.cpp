#include "criteria/cross_entropy.h"

#include <torch/torch.h>

#include <cmath>

#include "core/error.h"

namespace trellis {

CrossEntropyCriterion::CrossEntropyCriterion(const CrossEntropyOptions& options,
                                             const CriterionContext& ctx)
    : ctx_(ctx) {
  options.validate();
}

LossOutput CrossEntropyCriterion::forward(const NetOutput& net, const CriterionTargets& targets) {
  TRELLIS_CHECK(net.decoder_logits.defined(), Error,
                "cross_entropy: the model produced no decoder output");
  TRELLIS_CHECK(targets.target.defined(), Error, "cross_entropy: no target");
  at::Tensor lprobs = at::log_softmax(at_least_float32(net.decoder_logits), -1);  // (B, L, V)
  const int64_t B = targets.target.size(0);
  at::Tensor target = targets.target.reshape({-1});            // (N)
  lprobs = lprobs.reshape({-1, lprobs.size(-1)});              // (N, V)
  at::Tensor keep = target.ne(ctx_.pad);                       // (N)
  at::Tensor safe = target.masked_fill(target.eq(ctx_.pad), 0);
  at::Tensor nll = -lprobs.gather(1, safe.unsqueeze(1)).squeeze(1);  // (N)
  at::Tensor loss = nll.masked_fill(keep.logical_not(), 0.0).sum();
  int64_t ntokens = targets.ntokens;
  if (ntokens < 0) ntokens = keep.sum().item<int64_t>();
  LossOutput out;
  out.loss = loss;
  out.sample_size = static_cast<double>(ctx_.sentence_avg ? B : ntokens);
  out.stats = {{"loss", loss.item<double>()},
               {"ntokens", static_cast<double>(ntokens)},
               {"nsentences", static_cast<double>(targets.nsentences >= 0 ? targets.nsentences : B)},
               {"sample_size", out.sample_size}};
  return out;
}

Stats CrossEntropyCriterion::reduce_scalars(const StatSums& summed) const {
  const double sample_size = stat_sum(summed, "sample_size");
  const double ntokens = stat_sum(summed, "ntokens");
  Stats stats{{"loss", base2(stat_sum(summed, "loss"), sample_size), 3}};
  if (sample_size != ntokens)
    stats.push_back({"nll_loss", base2(stat_sum(summed, "loss"), ntokens), 3});
  return stats;
}

Stats CrossEntropyCriterion::reduce_derived(const StatSums& summed) const {
  const double sample_size = stat_sum(summed, "sample_size");
  const double ntokens = stat_sum(summed, "ntokens");
  const double base = base2(stat_sum(summed, "loss"), sample_size != ntokens ? ntokens : sample_size);
  return {{"ppl", std::pow(2.0, base), 2}};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "cross_entropy", trellis::CrossEntropyCriterion,
                 trellis::CrossEntropyOptions,
                 "negative log-likelihood of the targets (fairseq's cross_entropy; language "
                 "models)");
