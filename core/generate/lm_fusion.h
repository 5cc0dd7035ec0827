#pragma once
// Shallow fusion of a language model into the searches (docs/generate.md, "LM fusion"): the
// engine's view of an LM, whatever it is (a word-level n-gram, word_lm_fusion.h; a neural
// token LM, neural_lm_fusion.h).
//
// Every hypothesis carries an LmNode: the LM's context after its units and its fused score
//   node.score = alpha * ln p_lm(what the units spell so far) + beta * |scored items|
// (alpha = --lm-weight, beta = --word-score; items are words for the word-level n-gram, tokens
// for a token LM). A search ranks a hypothesis by its own log-probability + node.score, and an
// ended one by its log-probability + finish(node) (which adds </s>). With alpha = beta = 0 every
// score is exactly 0, so the search is exactly the one without an LM.
//
// Nodes are immutable values shared by the hypotheses that reach them; extend() makes a child
// without running a neural LM: prepare() runs it for all the nodes a search step needs, batched.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace trellis {

struct LmNode {
  virtual ~LmNode() = default;
  double score = 0.0;  // alpha * ln p_lm + beta * items, natural log
  int64_t length = 0;  // units appended since start()
};
using LmNodePtr = std::shared_ptr<const LmNode>;

class FusedLm {
 public:
  virtual ~FusedLm() = default;
  // The node of the empty hypothesis (context: start of sentence).
  virtual LmNodePtr start() = 0;
  // Makes extend()/finish()/gains() ready on every node of `nodes` (a neural LM scores all of
  // them now, one batched call per prefix length); cheap for nodes already prepared.
  virtual void prepare(const std::vector<LmNodePtr>& nodes) { (void)nodes; }
  // The node after appending output unit `unit` (a prepared `node`).
  virtual LmNodePtr extend(const LmNodePtr& node, int64_t unit) = 0;
  // The fused score of ending the sentence after `node` (</s> included; prepared node).
  virtual double finish(const LmNodePtr& node) = 0;
  // out (V): extend(node, v)->score - node->score for every unit v, and for v = eos
  // finish(node) - node->score (attention decoding ends hypotheses with eos). Prepared node.
  virtual void gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out);
  // Vocabulary size V of the units (the target dictionary's).
  virtual int64_t vocab_size() const = 0;
  // One line for the log.
  virtual std::string describe() const = 0;
};

}  // namespace trellis
