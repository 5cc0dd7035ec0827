// Word-level n-gram LM fusion in CTC prefix beam search (core/generate/word_lm_fusion.h):
// weight 0 changes nothing, fusion fixes an acoustically ambiguous word, and a fused score is
// exactly log p_ctc + alpha ln p_lm + beta |words|.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "core/generate/arpa_lm.h"
#include "core/generate/ctc_decoder.h"
#include "core/generate/word_lm_fusion.h"

using namespace trellis;

namespace {

// log10: p(the|<s>) -0.1, p(cat|the) -0.2, p(</s>|cat) -0.3: "the cat" = -0.6;
// "the cot" = -0.1 + (bo(the) -0.2 + p(cot) -2.0) + (bo(cot) -0.1 + p(</s>) -1.0) = -3.4.
const char* kArpa =
    "\\data\\\nngram 1=6\nngram 2=3\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\t-0.3\n-1.0\t</s>\n"
    "-0.7\tthe\t-0.2\n-1.0\tcat\t-0.1\n-2.0\tcot\t-0.1\n\n\\2-grams:\n-0.1\t<s> the\n"
    "-0.2\tthe cat\n-0.3\tcat </s>\n\n\\end\\\n";

ArpaLm toy_lm() {
  std::istringstream in(kArpa);
  return ArpaLm::parse(in, "fusion.arpa");
}

// Units: 0 blank, SentencePiece pieces.
const std::vector<std::string> kPieces{"<blank>",
                                       "\xe2\x96\x81the",
                                       "\xe2\x96\x81"
                                       "c",
                                       "a",
                                       "o",
                                       "t"};

// "the c?t" with o (0.5) slightly above a (0.4): (T=6, V=6) log-probabilities.
at::Tensor ambiguous_lprobs() {
  const std::vector<std::vector<double>> p{
      {0.02, 0.9, 0.02, 0.02, 0.02, 0.02},  // ▁the
      {0.9, 0.02, 0.02, 0.02, 0.02, 0.02},  // blank
      {0.02, 0.02, 0.9, 0.02, 0.02, 0.02},  // ▁c
      {0.04, 0.02, 0.02, 0.4, 0.5, 0.02},   // a or o
      {0.02, 0.02, 0.02, 0.02, 0.02, 0.9},  // t
      {0.9, 0.02, 0.02, 0.02, 0.02, 0.02},  // blank
  };
  at::Tensor t = torch::zeros({6, 6}, torch::kDouble);
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 6; ++j) t[i][j] = p[i][j];
  return (t / t.sum(1, true)).log().to(torch::kFloat);
}

// log p_ctc(tokens) over all alignments: -ctc_loss. lprobs: (T, V) float.
double ctc_log_prob(const at::Tensor& lprobs, const std::vector<int64_t>& tokens) {
  const auto T = lprobs.size(0);
  at::Tensor targets = torch::tensor(tokens, torch::kLong).unsqueeze(0);  // (1, S)
  at::Tensor loss = torch::ctc_loss(
      lprobs.to(torch::kDouble).unsqueeze(1), targets, torch::tensor({T}, torch::kLong),
      torch::tensor({static_cast<int64_t>(tokens.size())}, torch::kLong), 0, at::Reduction::None);
  return -loss.item<double>();
}

}  // namespace

TEST_CASE("lm fusion: weight 0 gives exactly the hypotheses and scores without LM", "[unit][lm]") {
  const ArpaLm lm = toy_lm();
  WordLmFusion f;
  f.lm = &lm;
  f.spelling = WordSpelling::from_pieces(kPieces, {0});
  torch::manual_seed(7);
  for (int trial = 0; trial < 5; ++trial) {
    at::Tensor lp = torch::log_softmax(torch::randn({25, 6}) * 2.0, 1);  // (T, V)
    for (int64_t beam : {1, 3, 8}) {
      const auto plain = ctc_prefix_beam_search(lp, 0, beam);
      f.weight = 0.0;
      f.word_score = 0.0;
      const auto fused = ctc_prefix_beam_search(lp, 0, beam, 30.0, &f);
      REQUIRE(plain.size() == fused.size());
      for (size_t i = 0; i < plain.size(); ++i) {
        CHECK(plain[i].tokens == fused[i].tokens);
        CHECK(plain[i].score == fused[i].score);  // bit for bit
      }
      f.weight = 0.5;  // and a weight does change scores
      const auto weighted = ctc_prefix_beam_search(lp, 0, beam, 30.0, &f);
      CHECK(weighted[0].score < plain[0].score);
    }
  }
}

TEST_CASE("lm fusion: the LM fixes an acoustically ambiguous word", "[unit][lm]") {
  const ArpaLm lm = toy_lm();
  const at::Tensor lp = ambiguous_lprobs();
  const std::vector<int64_t> cot{1, 2, 4, 5}, cat{1, 2, 3, 5};
  const auto plain = ctc_prefix_beam_search(lp, 0, 4);
  REQUIRE(plain[0].tokens == cot);  // acoustically "the cot"

  WordLmFusion f;
  f.lm = &lm;
  f.weight = 0.8;
  f.word_score = 0.3;
  f.spelling = WordSpelling::from_pieces(kPieces, {0});
  const auto fused = ctc_prefix_beam_search(lp, 0, 4, 30.0, &f);
  REQUIRE(fused[0].tokens == cat);  // the LM prefers "the cat"

  // With a beam that keeps every prefix, the CTC part is the sum over all alignments, and
  // score = log p_ctc + alpha * ln p_lm(<s> the c?t </s>) + beta * 2 words.
  const auto score_of = [](const std::vector<CtcHypothesis>& hyps,
                           const std::vector<int64_t>& tokens) {
    for (const auto& h : hyps)
      if (h.tokens == tokens) return h.score;
    FAIL("hypothesis not found");
    return 0.0;
  };
  const double ln10 = std::log(10.0);
  const auto all_plain = ctc_prefix_beam_search(lp, 0, 100000);
  const auto all_fused = ctc_prefix_beam_search(lp, 0, 100000, 30.0, &f);
  CHECK(score_of(all_plain, cot) == Approx(ctc_log_prob(lp, cot)).margin(1e-5));
  CHECK(score_of(all_plain, cat) == Approx(ctc_log_prob(lp, cat)).margin(1e-5));
  CHECK(score_of(all_fused, cat) ==
        Approx(ctc_log_prob(lp, cat) + 0.8 * ln10 * -0.6 + 0.3 * 2).margin(1e-5));
  CHECK(score_of(all_fused, cot) ==
        Approx(ctc_log_prob(lp, cot) + 0.8 * ln10 * -3.4 + 0.3 * 2).margin(1e-5));
  CHECK(all_fused[0].tokens == cat);
  // A weight too small to overturn the acoustics keeps "the cot" (ln 0.5/0.4 = 0.22 vs
  // 0.01 * ln 10 * 2.8 = 0.064).
  f.weight = 0.01;
  f.word_score = 0.0;
  CHECK(ctc_prefix_beam_search(lp, 0, 4, 30.0, &f)[0].tokens == cot);
}

TEST_CASE("lm fusion: letters with a '|' word boundary spell words", "[unit][lm]") {
  const ArpaLm lm = toy_lm();
  WordLmFusion f;
  f.lm = &lm;
  // 0 blank, 1 <pad> (silent), letters, '|'
  f.spelling =
      WordSpelling::from_pieces({"<b>", "<pad>", "t", "h", "e", "|", "c", "a", "o"}, {0, 1});
  WordLmProgress p = WordLmProgress::start(f);
  for (int64_t u : {2, 3, 1, 4, 5, 6})  // t h <pad> e | c
    p = p.extend(f, u);
  CHECK(p.words == 1);
  CHECK(p.partial == "c");
  CHECK(p.lm == Approx(-0.1 * std::log(10.0)).margin(1e-12));
  p = p.extend(f, 7).extend(f, 2).extend(f, 5);  // a t |
  CHECK(p.words == 2);
  CHECK(p.partial.empty());
  const WordLmProgress end = p.finish(f);
  CHECK(end.words == 2);
  CHECK(end.lm == Approx(-0.6 * std::log(10.0)).margin(1e-12));
  f.weight = 2.0;
  f.word_score = -0.5;
  CHECK(end.bonus(f) == Approx(2.0 * -0.6 * std::log(10.0) - 1.0).margin(1e-12));
  // An out-of-vocabulary word scores as <unk>: "the cit" ends with p(<unk>|the) and </s>.
  WordLmProgress q = WordLmProgress::start(f);
  for (int64_t u : {2, 3, 4, 5, 6, 2})  // t h e | c t
    q = q.extend(f, u);
  CHECK(q.partial == "ct");
  CHECK(q.finish(f).lm == Approx((-0.1 + (-0.2 - 1.0) + (-1.0)) * std::log(10.0)).margin(1e-12));
}
