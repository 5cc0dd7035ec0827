#pragma once
// Word timings from CTC output (transcribe --timestamps; docs/generate.md, "transcribe").
//
// Forced alignment (Viterbi): among the CTC paths of T frames that collapse to `tokens`
// (blanks between units, a blank required between two equal units), the one with the highest
// sum of log-probabilities. For the tokens of greedy decoding this is the greedy path itself.
// A unit occupies the frames its symbol fills on that path; a word spans its units' frames
// (units spell words as in LM fusion, word_lm_fusion.h: '▁' starts a word, '|' ends one).

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct WordSpelling;

struct FrameSpan {
  int64_t start = 0;  // first frame
  int64_t end = 0;    // one past the last frame
};

// lprobs: (T, V) float log-probabilities; tokens: unit ids (no blank). One span per token, in
// order, non-overlapping; empty when no path of T frames spells `tokens` (or tokens is empty).
std::vector<FrameSpan> ctc_forced_align(const at::Tensor& lprobs,
                                        const std::vector<int64_t>& tokens, int64_t blank);

struct WordFrames {
  std::string word;
  FrameSpan frames;
};

// tokens with their spans (ctc_forced_align) -> the words they spell, each from the first
// frame of its first unit to the end of its last; silent units and boundaries spell nothing.
std::vector<WordFrames> ctc_word_frames(const std::vector<int64_t>& tokens,
                                        const std::vector<FrameSpan>& spans,
                                        const WordSpelling& spelling);

}  // namespace trellis
