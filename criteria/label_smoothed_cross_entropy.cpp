#include "criteria/label_smoothed_cross_entropy.h"

#include <torch/torch.h>

#include <cmath>

namespace trellis {

void LabelSmoothedCrossEntropyOptions::validate() const {
  TRELLIS_CHECK(label_smoothing >= 0 && label_smoothing < 1, ConfigError,
                "--label-smoothing: must be in [0, 1) (got {})", label_smoothing);
  TRELLIS_CHECK(ignore_prefix_size >= 0, ConfigError, "--ignore-prefix-size: must be >= 0 (got {})",
                ignore_prefix_size);
  TRELLIS_CHECK(label_smoothing_variant == "fbk" || label_smoothing_variant == "fairseq",
                ConfigError, "--label-smoothing-variant: fbk or fairseq (got '{}')",
                label_smoothing_variant);
}

std::pair<at::Tensor, at::Tensor> label_smoothed_nll_loss(const at::Tensor& lprobs,
                                                          const at::Tensor& target, double eps,
                                                          int64_t pad, bool upstream_variant) {
  at::Tensor y = target.unsqueeze(-1);                    // (N, 1)
  at::Tensor nll = -lprobs.gather(-1, y);                 // (N, 1)
  at::Tensor smooth = -lprobs.sum(-1, /*keepdim=*/true);  // (N, 1)
  at::Tensor pad_mask = y.eq(pad);
  nll = nll.masked_fill(pad_mask, 0.0).sum();
  smooth = smooth.masked_fill(pad_mask, 0.0).sum();
  const auto V = static_cast<double>(lprobs.size(-1));
  if (upstream_variant) {
    const double eps_i = eps / (V - 1);
    return {(1.0 - eps - eps_i) * nll + eps_i * smooth, nll};
  }
  const double eps_i = eps / V;
  return {(1.0 - eps) * nll + eps_i * smooth, nll};
}

LabelSmoothedCrossEntropy::LabelSmoothedCrossEntropy(
    const LabelSmoothedCrossEntropyOptions& options, const CriterionContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
}

LossOutput LabelSmoothedCrossEntropy::forward(const NetOutput& net,
                                              const CriterionTargets& targets) {
  TRELLIS_CHECK(net.decoder_logits.defined(), Error,
                "label_smoothed_cross_entropy: the model produced no decoder output");
  TRELLIS_CHECK(targets.target.defined(), Error, "label_smoothed_cross_entropy: no target");
  at::Tensor lprobs = at::log_softmax(at_least_float32(net.decoder_logits), -1);  // (B, L, V)
  at::Tensor target = targets.target;                                             // (B, L)
  const int64_t B = target.size(0);
  const int64_t k = options_.ignore_prefix_size;
  if (k > 0) {
    lprobs = lprobs.slice(1, k);
    target = target.slice(1, k);
  }
  lprobs = lprobs.reshape({-1, lprobs.size(-1)});  // (N, V)
  target = target.reshape({-1});                   // (N)
  auto [loss, nll] = label_smoothed_nll_loss(lprobs, target, options_.label_smoothing, ctx_.pad,
                                             options_.label_smoothing_variant == "fairseq");

  int64_t ntokens = targets.ntokens;
  if (ntokens < 0) {
    ntokens = targets.target_lengths.defined() ? targets.target_lengths.sum().item<int64_t>()
                                               : targets.target.ne(ctx_.pad).sum().item<int64_t>();
  }
  const int64_t nsentences = targets.nsentences >= 0 ? targets.nsentences : B;
  LossOutput out;
  out.loss = loss;
  out.sample_size = static_cast<double>(ctx_.sentence_avg ? B : ntokens);
  out.stats = {{"loss", loss.item<double>()},
               {"nll_loss", nll.item<double>()},
               {"ntokens", static_cast<double>(ntokens)},
               {"nsentences", static_cast<double>(nsentences)},
               {"sample_size", out.sample_size}};
  if (options_.report_accuracy) {
    at::NoGradGuard no_grad;
    at::Tensor mask = target.ne(ctx_.pad);
    at::Tensor correct = lprobs.argmax(1).masked_select(mask).eq(target.masked_select(mask));
    out.stats["n_correct"] = static_cast<double>(correct.sum().item<int64_t>());
    out.stats["total"] = static_cast<double>(mask.sum().item<int64_t>());
  }
  return out;
}

Stats LabelSmoothedCrossEntropy::reduce_scalars(const StatSums& summed) const {
  Stats stats{{"loss", base2(stat_sum(summed, "loss"), stat_sum(summed, "sample_size")), 3},
              {"nll_loss", base2(stat_sum(summed, "nll_loss"), stat_sum(summed, "ntokens")), 3}};
  const double total = stat_sum(summed, "total");
  if (total > 0) {
    stats.push_back({"total", total, -1});
    stats.push_back({"n_correct", stat_sum(summed, "n_correct"), -1});
  }
  return stats;
}

Stats LabelSmoothedCrossEntropy::reduce_derived(const StatSums& summed) const {
  const double nll = base2(stat_sum(summed, "nll_loss"), stat_sum(summed, "ntokens"));
  Stats stats{{"ppl", std::pow(2.0, nll), 2}};
  const double total = stat_sum(summed, "total");
  if (total > 0) stats.push_back({"accuracy", percent(stat_sum(summed, "n_correct"), total), 3});
  return stats;
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "label_smoothed_cross_entropy",
                 trellis::LabelSmoothedCrossEntropy, trellis::LabelSmoothedCrossEntropyOptions,
                 "cross entropy with label smoothing (fairseq; FBK's eps/V by default)");
