#include "core/generate/lm_fusion.h"

namespace trellis {

void FusedLm::gains(const LmNodePtr& node, int64_t eos, std::vector<float>* out) {
  const int64_t V = vocab_size();
  out->assign(static_cast<size_t>(V), 0.0f);
  for (int64_t v = 0; v < V; ++v) {
    const double next = v == eos ? finish(node) : extend(node, v)->score;
    (*out)[static_cast<size_t>(v)] = static_cast<float>(next - node->score);
  }
}

}  // namespace trellis
