#pragma once
// --criterion wav2vec: fairseq's Wav2vecCriterion with infonce (wav2vec 2.0 pretraining;
// docs/ssl.md, "wav2vec 2.0 pretraining"), for models with the ContrastiveModel capability.
// Reads net.outputs "logits" (N, 1+K) (the positive at index 0), "prob_perplexity",
// "code_perplexity", "num_vars", "temp", "features_pen" (core/interfaces/contrastive_model.h).
//   contrastive = sum over the N masked frames of CE(logits, 0)
//   sample_size = N
//   loss = contrastive + w0 * (num_vars - prob_perplexity) / num_vars * N   (diversity)
//                      + w1 * features_pen * N                               (feature penalty)
//   with --loss-weights [w0, w1] (fairseq's None = no extra terms; base [0.1, 10], large [0.1, 0]).
// Stats (sums): loss, loss_0 (contrastive), loss_1, loss_2 (the weighted extra terms),
//   sample_size, ntokens (= N), nsentences, correct / count (argmax at 0 and not also argmin:
//   fairseq's rule for all-equal rows), and the --log-keys values summed with n_logs (one per
//   forward) so that reduce gives their mean over micro-batches, as fairseq's.
// reduce: loss and loss_i = sum / sample_size / ln 2; accuracy = correct / count (5 decimals,
//   fairseq); code_perplexity, prob_perplexity, temp = mean over micro-batches.

#include <string>
#include <vector>

#include "core/interfaces/criterion.h"

namespace trellis {

struct Wav2vecCriterionOptions {
  bool infonce = true;
  std::vector<double> loss_weights;
  std::vector<std::string> log_keys{"prob_perplexity", "code_perplexity", "temp"};

  template <class V>
  void visit(V& v) {
    v.field("infonce", infonce,
            "cross-entropy over {positive, negatives} (wav2vec 2.0); only this form is built");
    v.field("loss_weights", loss_weights,
            "weights of the extra losses: [diversity, feature penalty] (base [0.1, 10], large "
            "[0.1, 0]); empty: none");
    v.field("log_keys", log_keys, "model outputs to log (mean over micro-batches)")
        .choices({"prob_perplexity", "code_perplexity", "temp"});
  }
  void validate() const;
};

class Wav2vecCriterion : public Criterion {
 public:
  Wav2vecCriterion(const Wav2vecCriterionOptions& options, const CriterionContext& ctx);

  LossOutput forward(const NetOutput& net, const CriterionTargets& targets) override;
  Stats reduce_scalars(const StatSums& summed) const override;
  Stats reduce_derived(const StatSums& summed) const override;
  static CriterionNeeds needs(const Wav2vecCriterionOptions&) {
    return {/*decoder=*/false, /*ctc=*/false};
  }

 private:
  Wav2vecCriterionOptions options_;
};

}  // namespace trellis
