#include "criteria/ctc_multi_loss.h"

#include <torch/torch.h>

#include "criteria/ctc.h"

namespace trellis {

void CtcMultiLossOptions::validate() const {
  TRELLIS_CHECK(!underlying_criterion.empty(), ConfigError,
                "--criterion ctc_multi_loss needs --underlying-criterion (e.g. "
                "label_smoothed_cross_entropy)");
  TRELLIS_CHECK(underlying_criterion != "ctc_multi_loss", ConfigError,
                "--underlying-criterion must differ from --criterion (ctc_multi_loss)");
  TRELLIS_CHECK(ctc_weight >= 0, ConfigError, "--ctc-weight: must be >= 0 (got {})", ctc_weight);
}

CtcMultiLoss::CtcMultiLoss(const CtcMultiLossOptions& options, const CriterionContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
  const auto& registry = criterion_registry();
  AnyOptions underlying = ctx.underlying_options != nullptr
                              ? *ctx.underlying_options
                              : registry.make_options(options_.underlying_criterion);
  CriterionContext inner = ctx;
  inner.underlying_options = nullptr;
  underlying_ = registry.create(options_.underlying_criterion, underlying, inner);
}

void CtcMultiLoss::train(bool on) {
  Criterion::train(on);
  underlying_->train(on);
}

LossOutput CtcMultiLoss::forward(const NetOutput& net, const CriterionTargets& targets) {
  TRELLIS_CHECK(net.ctc_logits.defined(), Error,
                "ctc_multi_loss: the model produced no CTC logits (is its CTC head enabled?)");
  TRELLIS_CHECK(targets.transcript.defined() && targets.transcript_lengths.defined(), Error,
                "ctc_multi_loss: the batch has no source transcript (task speech_to_text_ctc)");
  // CTC in float32 whatever the model's precision (float64 stays float64).
  CtcTerms ctc = ctc_loss_sum(net.ctc_logits, net.ctc_lengths, targets.transcript,
                              targets.transcript_lengths - 1, ctx_.pad, ctx_.eos, ctx_.blank,
                              options_.zero_infinity, targets.ids);
  LossOutput real = underlying_->forward(net, targets);

  LossOutput out;
  out.loss = options_.ctc_weight * ctc.loss + real.loss;
  out.nonfinite_note = ctc.nonfinite_note.empty() ? real.nonfinite_note : ctc.nonfinite_note;
  const int64_t B = targets.transcript.size(0);
  out.sample_size = ctx_.sentence_avg
                        ? static_cast<double>(B)
                        : static_cast<double>(targets.transcript_lengths.sum().item<int64_t>());
  out.stats = std::move(real.stats);
  out.stats["ctc_loss"] = ctc.loss.item<double>();
  out.stats["real_loss"] = real.loss.item<double>();
  out.stats["loss"] = out.loss.item<double>();
  return out;
}

Stats CtcMultiLoss::reduce_scalars(const StatSums& summed) const {
  Stats stats = underlying_->reduce_scalars(summed);
  const double sample_size = stat_sum(summed, "sample_size");
  stats.push_back({"real_loss", base2(stat_sum(summed, "real_loss"), sample_size), 3});
  stats.push_back({"ctc_loss", base2(stat_sum(summed, "ctc_loss"), sample_size), 3});
  return stats;
}

Stats CtcMultiLoss::reduce_derived(const StatSums& summed) const {
  return underlying_->reduce_derived(summed);
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "ctc_multi_loss", trellis::CtcMultiLoss,
                 trellis::CtcMultiLossOptions,
                 "FBK: ctc_weight * CTC (encoder) + --underlying-criterion (decoder)");
