// CTC forced alignment (core/generate/ctc_alignment.h): the Viterbi path of constructed
// log-probabilities, the greedy path for greedy tokens, repeats needing a blank, impossible
// alignments, and words from SentencePiece and letter units.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "core/generate/ctc_alignment.h"
#include "core/generate/ctc_decoder.h"
#include "core/generate/word_lm_fusion.h"

using trellis::ctc_forced_align;
using trellis::FrameSpan;

namespace {

// One row per frame: the unit that frame prefers (probability 0.9, the rest shared). (T, V)
at::Tensor peaked(const std::vector<int64_t>& best, int64_t V) {
  at::Tensor p = torch::full({static_cast<int64_t>(best.size()), V}, 0.1 / (V - 1));
  for (size_t t = 0; t < best.size(); ++t) p[static_cast<int64_t>(t)][best[t]] = 0.9;
  return p.log();
}

}  // namespace

TEST_CASE("ctc_forced_align: spans of the best path", "[unit][generate][transcribe]") {
  // frames: _ a a _ b _ _ c   (blank 0; a=1 b=2 c=3)
  const at::Tensor lp = peaked({0, 1, 1, 0, 2, 0, 0, 3}, 4);
  const auto spans = ctc_forced_align(lp, {1, 2, 3}, 0);
  REQUIRE(spans.size() == 3);
  CHECK(spans[0].start == 1);
  CHECK(spans[0].end == 3);
  CHECK(spans[1].start == 4);
  CHECK(spans[1].end == 5);
  CHECK(spans[2].start == 7);
  CHECK(spans[2].end == 8);
}

TEST_CASE("ctc_forced_align: equal neighbours need a blank; too few frames is no alignment",
          "[unit][generate][transcribe]") {
  // "a a" in 3 frames: a _ a is the only path.
  const at::Tensor lp = peaked({1, 1, 1}, 3);
  const auto spans = ctc_forced_align(lp, {1, 1}, 0);
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].start == 0);
  CHECK(spans[0].end == 1);
  CHECK(spans[1].start == 2);
  CHECK(spans[1].end == 3);
  CHECK(ctc_forced_align(peaked({1, 1}, 3), {1, 1}, 0).empty());  // needs 3 frames
  CHECK(ctc_forced_align(peaked({1}, 3), {1, 2}, 0).empty());
  CHECK(ctc_forced_align(lp, {}, 0).empty());
  CHECK_THROWS(ctc_forced_align(lp, {0}, 0));  // the blank is not a unit
}

TEST_CASE("ctc_forced_align: greedy tokens align on the greedy path",
          "[unit][generate][transcribe]") {
  torch::manual_seed(3);
  const at::Tensor lp = torch::randn({40, 6}).mul(3).log_softmax(1);
  const auto greedy = trellis::ctc_greedy(lp, 0);
  const auto spans = ctc_forced_align(lp, greedy.tokens, 0);
  REQUIRE(spans.size() == greedy.tokens.size());
  const at::Tensor best = lp.argmax(1);
  for (size_t k = 0; k < spans.size(); ++k) {
    CHECK(spans[k].start < spans[k].end);
    if (k > 0) CHECK(spans[k - 1].end <= spans[k].start);
    for (int64_t t = spans[k].start; t < spans[k].end; ++t)
      CHECK(best[t].item<int64_t>() == greedy.tokens[k]);
  }
}

TEST_CASE("ctc_word_frames: SentencePiece and letter units", "[unit][generate][transcribe]") {
  using trellis::WordSpelling;
  // 0 blank, 1 "▁the", 2 "▁c", 3 "at", 4 "|", 5 "d", 6 "o", 7 "g"
  const auto spelling = WordSpelling::from_pieces({"<blank>", "\xe2\x96\x81the",
                                                   "\xe2\x96\x81"
                                                   "c",
                                                   "at", "|", "d", "o", "g"},
                                                  {0});
  const std::vector<FrameSpan> spans{{0, 2}, {3, 4}, {5, 7}, {8, 9}, {9, 10}, {11, 12}, {12, 14}};
  const auto words = trellis::ctc_word_frames({1, 2, 3, 4, 5, 6, 7}, spans, spelling);
  REQUIRE(words.size() == 3);
  CHECK(words[0].word == "the");
  CHECK(words[0].frames.start == 0);
  CHECK(words[0].frames.end == 2);
  CHECK(words[1].word == "cat");
  CHECK(words[1].frames.start == 3);
  CHECK(words[1].frames.end == 7);
  CHECK(words[2].word == "dog");
  CHECK(words[2].frames.start == 9);
  CHECK(words[2].frames.end == 14);
}
