#pragma once
// Token-level shallow fusion of a neural LM (a trellis checkpoint of a LanguageModel, e.g.
// transformer_lm) into the searches (lm_fusion.h; docs/generate.md "LM fusion"). The LM shares
// the target dictionary, so unit v is LM token v:
//   node.score = alpha * sum_i ln p_lm(y_i | eos, y_<i) + beta * |y|
//   finish     = node.score + alpha * ln p_lm(eos | eos, y)
// (fairseq's sequence generator adds lm_weight * lm_lprobs to every step's lprobs, eos
// included; NeMo's and ESPnet's token LMs the same, beta being a per-token bonus.)
// Each node keeps the LM's incremental state of its prefix (batch-first keys/values, one row);
// prepare() scores the unprepared nodes, grouped by length, one lm_logits call per group on
// the parents' states concatenated, and drops each node's link to its parent.

#include <memory>
#include <string>

#include "core/generate/lm_fusion.h"

namespace trellis {

class LanguageModel;

class NeuralLmFusion : public FusedLm {
 public:
  // lm must outlive this; eos starts every sentence (fairseq's LM input convention).
  NeuralLmFusion(LanguageModel* lm, int64_t eos, double weight, double token_score,
                 std::string name);
  LmNodePtr start() override;
  void prepare(const std::vector<LmNodePtr>& nodes) override;
  LmNodePtr extend(const LmNodePtr& node, int64_t unit) override;
  double finish(const LmNodePtr& node) override;
  void gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out) override;
  int64_t vocab_size() const override;
  std::string describe() const override;
  // Number of lm_logits calls and of scored nodes so far (benchmarks, tests).
  int64_t calls() const { return calls_; }
  int64_t scored() const { return scored_; }

 private:
  struct Node;
  // The node's LM log-probabilities (V) (prepared).
  const std::vector<float>& lprobs(const LmNodePtr& node) const;

  LanguageModel* lm_;
  int64_t eos_;
  double weight_, token_score_;
  std::string name_;
  int64_t calls_ = 0, scored_ = 0;
};

}  // namespace trellis
