#include "core/generate/ctc_decoder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/generate/log_math.h"
#include "core/generate/lm_fusion.h"
#include "core/generate/word_lm_fusion.h"

namespace trellis {
namespace {

constexpr double kNegInf = kLogZero;

struct PrefixScore {
  double pb = kNegInf;   // alignments ending in blank
  double pnb = kNegInf;  // alignments ending in the prefix's last unit
  LmNodePtr lm;          // with an LM: the prefix's LM node (a function of the prefix alone)
  double total() const { return log_add(pb, pnb); }
  // The ranking score: log p_ctc, plus the fused LM score with an LM.
  double fused() const { return lm ? total() + lm->score : total(); }
};

// A prefix carried over unchanged (blank, or a repeat merged) keeps its LM node.
void keep_progress(PrefixScore& n, const PrefixScore& from) {
  if (!n.lm) n.lm = from.lm;
}

}  // namespace

CtcHypothesis ctc_greedy(const at::Tensor& lprobs, int64_t blank) {
  at::Tensor lp = lprobs.to(torch::kFloat).contiguous();
  auto [best, arg] = lp.max(1);  // (T), (T)
  const auto* a = arg.data_ptr<int64_t>();
  CtcHypothesis h;
  h.score = best.sum().item<double>();
  int64_t prev = -1;
  for (int64_t t = 0; t < arg.size(0); ++t) {
    if (a[t] != prev && a[t] != blank) h.tokens.push_back(a[t]);
    prev = a[t];
  }
  return h;
}

std::vector<CtcHypothesis> ctc_prefix_beam_search(const at::Tensor& lprobs, int64_t blank,
                                                  int64_t beam, double prune,
                                                  const WordLmFusion* fusion) {
  if (!fusion) return ctc_prefix_beam_search(lprobs, blank, beam, prune, nullptr, 0.0);
  WordNgramFusion lm(*fusion);
  return ctc_prefix_beam_search(lprobs, blank, beam, prune, &lm, 0.0);
}

std::vector<CtcHypothesis> ctc_prefix_beam_search(const at::Tensor& lprobs, int64_t blank,
                                                  int64_t beam, double prune, FusedLm* lm,
                                                  double beam_threshold) {
  at::Tensor lp = lprobs.to(torch::kFloat).contiguous();
  const int64_t T = lp.size(0), V = lp.size(1);
  const float* p = lp.data_ptr<float>();
  std::map<std::vector<int64_t>, PrefixScore> beams;
  beams[{}].pb = 0.0;
  if (lm) beams[{}].lm = lm->start();
  std::vector<LmNodePtr> nodes;
  auto prepare = [&] {
    if (!lm) return;
    nodes.clear();
    for (const auto& [prefix, s] : beams) nodes.push_back(s.lm);
    lm->prepare(nodes);
  };
  for (int64_t t = 0; t < T; ++t) {
    prepare();
    const float* row = p + t * V;
    const double best = *std::max_element(row, row + V);
    std::map<std::vector<int64_t>, PrefixScore> next;
    for (const auto& [prefix, s] : beams) {
      for (int64_t c = 0; c < V; ++c) {
        const double pc = row[c];
        if (pc < best - prune) continue;
        if (c == blank) {
          PrefixScore& n = next[prefix];
          n.pb = log_add(n.pb, pc + s.total());
          keep_progress(n, s);
          continue;
        }
        std::vector<int64_t> extended = prefix;
        extended.push_back(c);
        PrefixScore& n = next[extended];
        if (lm && !n.lm) n.lm = lm->extend(s.lm, c);
        if (!prefix.empty() && prefix.back() == c) {
          n.pnb = log_add(n.pnb, pc + s.pb);  // a repeat needs a blank in between
          PrefixScore& same = next[prefix];
          same.pnb = log_add(same.pnb, pc + s.pnb);
          keep_progress(same, s);
        } else {
          n.pnb = log_add(n.pnb, pc + s.total());
        }
      }
    }
    std::vector<std::pair<std::vector<int64_t>, PrefixScore>> ranked(next.begin(), next.end());
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.second.fused() > b.second.fused();
    });
    if (static_cast<int64_t>(ranked.size()) > beam) ranked.resize(static_cast<size_t>(beam));
    if (beam_threshold > 0 && !ranked.empty()) {
      const double floor = ranked.front().second.fused() - beam_threshold;
      while (ranked.size() > 1 && ranked.back().second.fused() < floor) ranked.pop_back();
    }
    beams = std::map<std::vector<int64_t>, PrefixScore>(ranked.begin(), ranked.end());
  }
  prepare();
  std::vector<CtcHypothesis> out;
  for (const auto& [prefix, s] : beams)
    out.push_back({prefix, lm ? s.total() + lm->finish(s.lm) : s.total()});
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.score > b.score; });
  return out;
}

}  // namespace trellis
