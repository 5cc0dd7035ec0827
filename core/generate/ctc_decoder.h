#pragma once
// CTC decoding of one utterance's log-probabilities (lprobs: (T, V) float32, log-softmaxed).
//
// Greedy: the best unit per frame, repeats merged, blanks dropped.
// Prefix beam search (Graves 2012; Hannun et al. 2014): each prefix keeps the log-probability
// of its alignments ending in a blank (pb) and in its last unit (pnb). At frame t, for each
// kept prefix l and unit c:
//   c = blank:            pb'(l)  += p(blank) * (pb(l) + pnb(l))
//   c = last unit of l:   pnb'(l) += p(c) * pnb(l);   pnb'(l+c) += p(c) * pb(l)
//   any other c:          pnb'(l+c) += p(c) * (pb(l) + pnb(l))
// (sums in log space), then the `beam` prefixes with the best pb + pnb are kept. The score of
// a hypothesis is log(pb + pnb) at the last frame. With an LM (lm_fusion.h), prefixes are
// ranked by log(pb + pnb) + node.score (alpha * ln p_lm + beta * |items|: words for the
// word-level n-gram, word_lm_fusion.h; tokens for a neural LM, neural_lm_fusion.h) and final
// hypotheses scored by log(pb + pnb) + finish(node) (</s> included). --beam-threshold
// (fairseq's/flashlight's): after each frame, prefixes whose ranking score is below the best's
// minus the threshold are dropped (0 = off).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace trellis {

struct WordLmFusion;
class FusedLm;

struct CtcHypothesis {
  std::vector<int64_t> tokens;
  double score = 0.0;  // natural-log probability of the prefix (greedy: of the best path)
};

// lprobs: (T, V) float32.
CtcHypothesis ctc_greedy(const at::Tensor& lprobs, int64_t blank);
// lprobs: (T, V) float32. Returns up to `beam` hypotheses, best first. Units whose
// log-probability at a frame is below the frame's best minus `prune` are skipped there.
std::vector<CtcHypothesis> ctc_prefix_beam_search(const at::Tensor& lprobs, int64_t blank,
                                                  int64_t beam, double prune = 30.0,
                                                  FusedLm* lm = nullptr,
                                                  double beam_threshold = 0.0);
// The same with the word-level n-gram fusion of word_lm_fusion.h.
std::vector<CtcHypothesis> ctc_prefix_beam_search(const at::Tensor& lprobs, int64_t blank,
                                                  int64_t beam, double prune,
                                                  const WordLmFusion* fusion);

}  // namespace trellis
