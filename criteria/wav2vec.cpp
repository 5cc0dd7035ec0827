#include "criteria/wav2vec.h"

#include <torch/torch.h>

#include <cmath>

namespace trellis {

void Wav2vecCriterionOptions::validate() const {
  TRELLIS_CHECK(infonce, ConfigError,
                "--criterion wav2vec: only --infonce (wav2vec 2.0) is built; the binary "
                "cross-entropy of wav2vec 1.0 is not");
  TRELLIS_CHECK(loss_weights.size() <= 2, ConfigError,
                "--loss-weights: at most 2 values [diversity, feature penalty], got {}",
                loss_weights.size());
}

Wav2vecCriterion::Wav2vecCriterion(const Wav2vecCriterionOptions& options, const CriterionContext&)
    : options_(options) {
  options_.validate();
}

namespace {

const at::Tensor& output(const NetOutput& net, const std::string& key) {
  auto it = net.outputs.find(key);
  TRELLIS_CHECK(it != net.outputs.end() && it->second.defined(), Error,
                "--criterion wav2vec: the model produced no \"{}\" (it needs a contrastive "
                "pretraining model, e.g. --arch wav2vec2_base)",
                key);
  return it->second;
}

}  // namespace

LossOutput Wav2vecCriterion::forward(const NetOutput& net, const CriterionTargets& targets) {
  const at::Tensor logits = at_least_float32(output(net, "logits"));  // (N, 1+K)
  TRELLIS_CHECK(logits.dim() == 2 && logits.size(1) >= 2, Error,
                "--criterion wav2vec: logits must be (N, 1+K) with K >= 1, got {} dims",
                logits.dim());
  const int64_t N = logits.size(0);
  at::Tensor target = at::zeros({N}, logits.options().dtype(at::kLong));
  at::Tensor contrastive = at::cross_entropy_loss(logits, target, {}, at::Reduction::Sum);
  const double sample_size = static_cast<double>(N);
  LossOutput out;
  out.loss = contrastive;
  out.sample_size = sample_size;
  out.stats["loss_0"] = contrastive.item<double>();
  if (!options_.loss_weights.empty()) {
    const at::Tensor num_vars = at_least_float32(output(net, "num_vars"));
    const at::Tensor ppl = at_least_float32(output(net, "prob_perplexity"));
    std::vector<at::Tensor> extra{(num_vars - ppl) / num_vars};
    if (options_.loss_weights.size() > 1)
      extra.push_back(at_least_float32(output(net, "features_pen")));
    for (size_t i = 0; i < extra.size(); ++i) {
      const double w = options_.loss_weights[i];
      if (w == 0.0) continue;  // fairseq: `if coef != 0 and p is not None`
      at::Tensor p = extra[i] * w * sample_size;
      out.loss = out.loss + p;
      out.stats["loss_" + std::to_string(i + 1)] = p.item<double>();
    }
  }
  out.stats["loss"] = out.loss.item<double>();
  out.stats["sample_size"] = sample_size;
  out.stats["ntokens"] = sample_size;
  out.stats["nsentences"] = static_cast<double>(targets.nsentences >= 0 ? targets.nsentences : 0);
  out.stats["n_logs"] = 1.0;
  for (const std::string& key : options_.log_keys) out.stats[key] = output(net, key).item<double>();
  {
    at::NoGradGuard no_grad;
    if (N > 0) {
      at::Tensor max = logits.argmax(-1).eq(0), min = logits.argmin(-1).eq(0);
      const double both = (max & min).sum().item<double>();
      out.stats["correct"] = max.sum().item<double>() - both;
      out.stats["count"] = static_cast<double>(N);
    } else {
      out.stats["correct"] = out.stats["count"] = 0.0;
    }
  }
  return out;
}

Stats Wav2vecCriterion::reduce_scalars(const StatSums& summed) const {
  const double sample_size = stat_sum(summed, "sample_size");
  Stats s{{"loss", base2(stat_sum(summed, "loss"), sample_size), 3},
          {"ntokens", stat_sum(summed, "ntokens"), -1},
          {"nsentences", stat_sum(summed, "nsentences"), -1},
          {"sample_size", sample_size, -1}};
  for (const char* key : {"loss_0", "loss_1", "loss_2"})
    if (summed.count(key)) s.push_back({key, base2(stat_sum(summed, key), sample_size), 3});
  const double n_logs = stat_sum(summed, "n_logs");
  for (const std::string& key : options_.log_keys)
    if (summed.count(key) && n_logs > 0) s.push_back({key, stat_sum(summed, key) / n_logs, 3});
  return s;
}

Stats Wav2vecCriterion::reduce_derived(const StatSums& summed) const {
  const double count = stat_sum(summed, "count");
  if (count <= 0) return {};
  return {{"accuracy", stat_sum(summed, "correct") / count, 5}};
}

}  // namespace trellis

TRELLIS_REGISTER(trellis::criterion_registry(), "wav2vec", trellis::Wav2vecCriterion,
                 trellis::Wav2vecCriterionOptions,
                 "wav2vec 2.0 contrastive loss (InfoNCE over the quantized target and "
                 "distractors) with diversity and feature penalties (fairseq's wav2vec)");
