#include "criteria/mlm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace trellis {

void MlmOptions::validate() const {
  TRELLIS_CHECK(mask_threshold >= 0.0 && mask_threshold < 1.0, ConfigError,
                "--mask-threshold: must be in [0, 1) (got {})", mask_threshold);
}

MlmCriterion::MlmCriterion(const MlmOptions& options, const CriterionContext&)
    : options_(options) {
  options_.validate();
}

namespace {

const at::Tensor& output(const NetOutput& net, const char* key) {
  auto it = net.outputs.find(key);
  TRELLIS_CHECK(it != net.outputs.end() && it->second.defined(), Error,
                "mlm: the model produced no \"{}\" (it needs a masked token prediction model)",
                key);
  return it->second;
}

}  // namespace

LossOutput MlmCriterion::forward(const NetOutput& net, const CriterionTargets& targets) {
  const at::Tensor& log_probs = output(net, "log_probs");  // (B, T', C, G)
  const at::Tensor& tokens = output(net, "targets");       // (B, T', G)
  const at::Tensor& frame_masks = output(net, "frame_masks");  // (B, T)
  const int64_t c = net.combine_time_steps;
  TRELLIS_CHECK(log_probs.dim() == 4 && tokens.dim() == 3 && frame_masks.dim() == 2, Error,
                "mlm: log_probs must be (B, T', C, G), targets (B, T', G), frame_masks (B, T); "
                "got {}, {} and {} dims",
                log_probs.dim(), tokens.dim(), frame_masks.dim());
  const int64_t B = log_probs.size(0), G = log_probs.size(3);
  TRELLIS_CHECK(tokens.size(0) == B && frame_masks.size(0) == B && tokens.size(2) == G, Error,
                "mlm: batch or book sizes disagree (log_probs {}x{}, targets {}x{}, masks {})", B,
                G, tokens.size(0), tokens.size(2), frame_masks.size(0));
  TRELLIS_CHECK(c >= 1 && frame_masks.size(1) % c == 0, Error,
                "mlm: {} mask frames are not a multiple of combine_time_steps {}",
                frame_masks.size(1), c);
  // (B, T) -> (B, T/c): mean over each group of c frames (float32, as NeMo's float masks)
  at::Tensor group_mean = frame_masks.to(at::kFloat).reshape({B, -1, c}).mean(-1);
  at::Tensor selected = group_mean.gt(static_cast<float>(options_.mask_threshold));
  // NeMo truncates the three to the shortest length.
  const int64_t L = std::min({log_probs.size(1), tokens.size(1), selected.size(1)});
  selected = selected.narrow(1, 0, L).to(log_probs.device());
  at::Tensor lp = at_least_float32(log_probs.narrow(1, 0, L)).index({selected});  // (N, C, G)
  at::Tensor tgt = tokens.narrow(1, 0, L).to(at::kLong).index({selected});        // (N, G)
  const int64_t N = lp.size(0);
  at::Tensor nll = -lp.gather(1, tgt.unsqueeze(1)).squeeze(1);  // (N, G)
  LossOutput out;
  out.loss = nll.sum() / static_cast<double>(G);
  out.sample_size = static_cast<double>(N);
  double n_correct = 0.0;
  if (N > 0) {
    at::NoGradGuard no_grad;
    n_correct = lp.argmax(1).eq(tgt).sum().item<double>();
  }
  const double ntokens = targets.ntokens >= 0 ? static_cast<double>(targets.ntokens)
                                              : static_cast<double>(B * log_probs.size(1));
  out.stats = {{"loss", out.loss.item<double>()},
               {"masked", out.sample_size},
               {"sample_size", out.sample_size},
               {"n_correct", n_correct},
               {"n_total", static_cast<double>(N * G)},
               {"ntokens", ntokens},
               {"nsentences", static_cast<double>(targets.nsentences >= 0 ? targets.nsentences
                                                                          : B)}};
  return out;
}

Stats MlmCriterion::reduce_scalars(const StatSums& summed) const {
  const double loss = stat_sum(summed, "loss");
  const double sample_size = stat_sum(summed, "sample_size");
  return {{"loss", base2(loss, sample_size), 3},
          {"loss_nats", sample_size > 0 ? loss / sample_size : NAN, 3},
          {"masked", stat_sum(summed, "masked"), -1},
          {"ntokens", stat_sum(summed, "ntokens"), -1},
          {"nsentences", stat_sum(summed, "nsentences"), -1}};
}

Stats MlmCriterion::reduce_derived(const StatSums& summed) const {
  const double total = stat_sum(summed, "n_total");
  if (total <= 0) return {};
  return {{"accuracy", percent(stat_sum(summed, "n_correct"), total), 3}};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "mlm", trellis::MlmCriterion, trellis::MlmOptions,
                 "masked token prediction (NeMo's MLMLoss; NEST pretraining)");
