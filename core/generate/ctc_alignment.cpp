#include "core/generate/ctc_alignment.h"

#include <torch/torch.h>

#include <limits>

#include "core/error.h"
#include "core/generate/word_lm_fusion.h"

namespace trellis {

std::vector<FrameSpan> ctc_forced_align(const at::Tensor& lprobs,
                                        const std::vector<int64_t>& tokens, int64_t blank) {
  TRELLIS_CHECK(lprobs.dim() == 2, Error, "ctc_forced_align: lprobs must be (T, V), got {} dims",
                lprobs.dim());
  const at::Tensor lp = lprobs.to(torch::kCPU, torch::kFloat).contiguous();
  const auto a = lp.accessor<float, 2>();  // (T, V)
  const int64_t T = lp.size(0), V = lp.size(1), L = static_cast<int64_t>(tokens.size());
  if (L == 0 || T == 0) return {};
  for (int64_t u : tokens)
    TRELLIS_CHECK(u >= 0 && u < V && u != blank, Error,
                  "ctc_forced_align: unit {} is not a non-blank unit of a {}-unit output", u, V);
  // Extended labels: blank, y1, blank, y2, ..., yL, blank (S = 2L + 1).
  const int64_t S = 2 * L + 1;
  auto label = [&](int64_t s) { return s % 2 == 0 ? blank : tokens[static_cast<size_t>(s / 2)]; };
  const float kNeg = -std::numeric_limits<float>::infinity();
  std::vector<float> prev(static_cast<size_t>(S), kNeg), cur(static_cast<size_t>(S));
  // back[t * S + s]: the state at t - 1 on the best path into s at t (0, 1 or 2 steps back).
  std::vector<uint8_t> back(static_cast<size_t>(T * S), 0);
  prev[0] = a[0][blank];
  prev[1] = a[0][tokens[0]];
  for (int64_t t = 1; t < T; ++t) {
    for (int64_t s = 0; s < S; ++s) {
      float best = prev[static_cast<size_t>(s)];
      uint8_t step = 0;
      if (s >= 1 && prev[static_cast<size_t>(s - 1)] > best) {
        best = prev[static_cast<size_t>(s - 1)];
        step = 1;
      }
      if (s >= 2 && s % 2 == 1 && label(s) != label(s - 2) &&
          prev[static_cast<size_t>(s - 2)] > best) {
        best = prev[static_cast<size_t>(s - 2)];
        step = 2;
      }
      cur[static_cast<size_t>(s)] = best == kNeg ? kNeg : best + a[t][label(s)];
      back[static_cast<size_t>(t * S + s)] = step;
    }
    std::swap(prev, cur);
  }
  // The path ends in the last unit or the blank after it.
  int64_t s = prev[static_cast<size_t>(S - 1)] >= prev[static_cast<size_t>(S - 2)] ? S - 1 : S - 2;
  if (prev[static_cast<size_t>(s)] == kNeg) return {};
  std::vector<FrameSpan> spans(static_cast<size_t>(L), FrameSpan{-1, -1});
  for (int64_t t = T - 1; t >= 0; --t) {
    if (s % 2 == 1) {
      FrameSpan& sp = spans[static_cast<size_t>(s / 2)];
      if (sp.end < 0) sp.end = t + 1;
      sp.start = t;
    }
    if (t > 0) s -= back[static_cast<size_t>(t * S + s)];
  }
  return spans;
}

std::vector<WordFrames> ctc_word_frames(const std::vector<int64_t>& tokens,
                                        const std::vector<FrameSpan>& spans,
                                        const WordSpelling& spelling) {
  TRELLIS_CHECK(tokens.size() == spans.size(), Error, "ctc_word_frames: {} tokens but {} spans",
                tokens.size(), spans.size());
  std::vector<WordFrames> words;
  bool open = false;  // the last word may still grow
  for (size_t i = 0; i < tokens.size(); ++i) {
    const WordSpelling::Kind kind = spelling.kind_of(tokens[i]);
    if (kind == WordSpelling::kSilent) continue;
    if (kind == WordSpelling::kBoundary) {
      open = false;
      continue;
    }
    const std::string& text = spelling.text[static_cast<size_t>(tokens[i])];
    if (kind == WordSpelling::kWordStart) open = false;
    if (text.empty()) continue;  // a lone '▁'
    if (!open) {
      words.push_back({std::string(), spans[i]});
      open = true;
    }
    words.back().word += text;
    words.back().frames.end = spans[i].end;
  }
  return words;
}

}  // namespace trellis
