#pragma once
// --criterion label_smoothed_cross_entropy (docs/criteria.md, "label_smoothed_cross_entropy").

#include <string>

#include "core/interfaces/criterion.h"

namespace trellis {

struct LabelSmoothedCrossEntropyOptions {
  double label_smoothing = 0.0;
  int64_t ignore_prefix_size = 0;
  bool report_accuracy = false;
  std::string label_smoothing_variant = "fbk";

  template <class V>
  void visit(V& v) {
    v.field("label_smoothing", label_smoothing, "epsilon for label smoothing, 0 means none");
    v.field("ignore_prefix_size", ignore_prefix_size,
            "ignore the first N target tokens in the loss and accuracy (e.g. a language tag)");
    v.field("report_accuracy", report_accuracy, "report accuracy (n_correct, total)");
    v.field("label_smoothing_variant", label_smoothing_variant,
            "fbk: eps/V on every class (FBK-fairseq); fairseq: eps/(V-1), upstream since 2021")
        .choices({"fbk", "fairseq"});
  }
  void validate() const;
};

// lprobs: (N, V) float log-probabilities; target: (N) int64 -> {loss, nll_loss}, () sums over
// positions whose target is not `pad`. With eps_i = eps/V (fbk) or eps/(V-1) (fairseq):
//   nll = -lprobs[y],  smooth = -sum_v lprobs[v]   (pad positions: 0)
//   fbk:     loss = (1 - eps) * sum nll + eps_i * sum smooth
//   fairseq: loss = (1 - eps - eps_i) * sum nll + eps_i * sum smooth
std::pair<at::Tensor, at::Tensor> label_smoothed_nll_loss(const at::Tensor& lprobs,
                                                          const at::Tensor& target, double eps,
                                                          int64_t pad, bool upstream_variant);

// Label-smoothed cross entropy on the decoder output (fairseq's formula, FBK's eps/V default).
//   lprobs = log_softmax(decoder_logits) in float32 (float64 stays float64),
//   the first --ignore-prefix-size positions of lprobs and target dropped,
//   loss, nll_loss = label_smoothed_nll_loss(...)
//   ntokens = targets.ntokens, else sum(target_lengths) (eos and an ignored tag included)
//   sample_size = B with sentence_avg, else ntokens
//   n_correct = #(argmax lprobs == y, y != pad), total = #(y != pad)   (--report-accuracy)
// Stats: loss, nll_loss, ntokens, nsentences, sample_size [, n_correct, total].
// reduce_metrics: loss = sum loss / sum sample_size / ln 2 (3 decimals), nll_loss = sum nll /
//   sum ntokens / ln 2 (3), [total, n_correct], ppl = 2^nll_loss (2), [accuracy =
//   100 n_correct / total (3)] -- fairseq's order (scalars first, then derived values).
class LabelSmoothedCrossEntropy : public Criterion {
 public:
  LabelSmoothedCrossEntropy(const LabelSmoothedCrossEntropyOptions& options,
                            const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;

  const LabelSmoothedCrossEntropyOptions& options() const { return options_; }

 private:
  LabelSmoothedCrossEntropyOptions options_;
  CriterionContext ctx_;
};

}  // namespace trellis
