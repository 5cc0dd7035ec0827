#include "core/generate/neural_lm_fusion.h"

#include <torch/torch.h>

#include <map>

#include "core/error.h"
#include "core/interfaces/language_model.h"

namespace trellis {

struct NeuralLmFusion::Node : LmNode {
  std::vector<int64_t> tokens;                   // eos + the units
  mutable std::shared_ptr<const Node> parent;     // until prepared
  mutable bool prepared = false;
  mutable std::vector<float> lprobs;              // (V) ln p_lm(. | tokens)
  mutable IncrementalState state;                 // the LM cache after tokens, one row
};

NeuralLmFusion::NeuralLmFusion(LanguageModel* lm, int64_t eos, double weight, double token_score,
                               std::string name)
    : lm_(lm), eos_(eos), weight_(weight), token_score_(token_score), name_(std::move(name)) {
  TRELLIS_CHECK(lm_ != nullptr, ConfigError, "--lm-path {}: not a language model", name_);
}

int64_t NeuralLmFusion::vocab_size() const { return lm_->lm_vocab_size(); }

LmNodePtr NeuralLmFusion::start() {
  auto n = std::make_shared<Node>();
  n->tokens = {eos_};
  return n;
}

void NeuralLmFusion::prepare(const std::vector<LmNodePtr>& nodes) {
  // Unprepared nodes by prefix length (one batched call each); duplicates once.
  std::map<size_t, std::vector<const Node*>> groups;
  for (const LmNodePtr& p : nodes) {
    const auto* n = static_cast<const Node*>(p.get());
    if (n->prepared) continue;
    auto& g = groups[n->tokens.size()];
    if (std::find(g.begin(), g.end(), n) == g.end()) g.push_back(n);
  }
  torch::NoGradGuard no_grad;
  for (auto& [len, group] : groups) {
    const auto G = static_cast<int64_t>(group.size());
    const auto L = static_cast<int64_t>(len);
    at::Tensor tokens = torch::empty({G, L}, torch::kLong);  // (G, L)
    auto acc = tokens.accessor<int64_t, 2>();
    IncrementalState state;
    std::map<std::string, std::vector<at::Tensor>> parts;  // the parents' caches, row by row
    for (int64_t g = 0; g < G; ++g) {
      const Node* n = group[static_cast<size_t>(g)];
      for (int64_t l = 0; l < L; ++l) acc[g][l] = n->tokens[static_cast<size_t>(l)];
      if (n->parent) {
        TRELLIS_CHECK(n->parent->prepared, Error, "LM fusion: a node's parent was not scored");
        for (const auto& [k, v] : n->parent->state.buffers) parts[k].push_back(v);
      }
    }
    for (auto& [k, v] : parts) {
      TRELLIS_CHECK(static_cast<int64_t>(v.size()) == G, Error,
                    "LM fusion: nodes of one length with and without a parent");
      state.buffers[k] = torch::cat(v, 0);  // (G, ...)
    }
    const auto device = state.buffers.empty() ? torch::Device(torch::kCPU)
                                              : state.buffers.begin()->second.device();
    at::Tensor logits = lm_->lm_logits(tokens.to(device), &state);  // (G, 1, V)
    at::Tensor lp =
        torch::log_softmax(logits.select(1, 0).to(torch::kFloat), -1).to(torch::kCPU).contiguous();
    ++calls_;
    scored_ += G;
    const int64_t V = lp.size(1);
    for (int64_t g = 0; g < G; ++g) {
      const Node* n = group[static_cast<size_t>(g)];
      const float* row = lp.data_ptr<float>() + g * V;
      n->lprobs.assign(row, row + V);
      for (const auto& [k, v] : state.buffers) n->state.buffers[k] = v.narrow(0, g, 1);
      n->prepared = true;
      n->parent.reset();
    }
  }
}

const std::vector<float>& NeuralLmFusion::lprobs(const LmNodePtr& node) const {
  const auto& n = static_cast<const Node&>(*node);
  TRELLIS_CHECK(n.prepared, Error, "LM fusion: a node was used before prepare()");
  return n.lprobs;
}

LmNodePtr NeuralLmFusion::extend(const LmNodePtr& node, int64_t unit) {
  const auto& lp = lprobs(node);
  TRELLIS_CHECK(unit >= 0 && unit < static_cast<int64_t>(lp.size()), Error,
                "LM fusion: unit {} outside the LM's vocabulary ({})", unit, lp.size());
  auto n = std::make_shared<Node>();
  const auto& parent = std::static_pointer_cast<const Node>(node);
  n->tokens = parent->tokens;
  n->tokens.push_back(unit);
  n->parent = parent;
  n->length = parent->length + 1;
  n->score = parent->score;
  if (weight_ != 0.0) n->score += weight_ * lp[static_cast<size_t>(unit)];
  if (token_score_ != 0.0) n->score += token_score_;
  return n;
}

double NeuralLmFusion::finish(const LmNodePtr& node) {
  const auto& lp = lprobs(node);
  return weight_ != 0.0 ? node->score + weight_ * lp[static_cast<size_t>(eos_)] : node->score;
}

void NeuralLmFusion::gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out) {
  const auto& lp = lprobs(node);
  out->assign(lp.size(), 0.0f);
  for (size_t v = 0; v < lp.size(); ++v) {
    double g = 0.0;
    if (weight_ != 0.0) g += weight_ * lp[v];
    if (token_score_ != 0.0 && static_cast<int64_t>(v) != eos) g += token_score_;
    (*out)[v] = static_cast<float>(g);
  }
}

std::string NeuralLmFusion::describe() const {
  return fmt::format("token-level neural LM {}, --lm-weight {} --word-score {} (per token)",
                     name_, weight_, token_score_);
}

}  // namespace trellis
