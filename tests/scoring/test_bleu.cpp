// --scoring bleu (fairseq's token BLEU, scoring/bleu.h) on a corpus worked out by hand with
// fairseq's rules (libbleu's trim and n-gram matching, bleu.py's score and result_string).
#include <catch2/catch.hpp>

#include <cmath>

#include "core/data/dictionary.h"
#include "core/interfaces/scorer.h"
#include "scoring/bleu.h"

using trellis::TokenBleuScorer;

TEST_CASE("bleu: fairseq's token BLEU on a hand-worked corpus", "[unit][generate][scoring]") {
  TokenBleuScorer s(/*pad=*/1, /*eos=*/2, /*unk=*/3);
  // 1: ref 4 5 6 7 8, hyp 4 5 6 9 8 -> matches 4/5, 2/4, 1/3, 0/2.
  s.add_tokens({4, 5, 6, 7, 8, 2}, {4, 5, 6, 9, 8, 2});
  // 2: the reference's pads go, its <unk> (3) matches nothing, its eos is trimmed: ref 4 <unk> 4
  //    (3 tokens); hyp 4 3 4 4 -> 1-grams: two 4s match (the reference has two), 3 does not:
  //    2/4; 2-grams 0/3; 3-grams 0/2; 4-grams 0/1.
  s.add_tokens({4, 3, 4, 2, 1, 1}, {4, 3, 4, 4, 2});
  // 3: identical -> 5/5, 4/4, 3/3, 2/2.
  s.add_tokens({5, 6, 7, 8, 9, 2}, {5, 6, 7, 8, 9, 2});
  // Totals: match 11 6 4 2 of 14 11 8 5; reflen 13, predlen 14 -> BP 1.
  const auto p = s.precisions();
  CHECK(p[0] == Approx(11.0 / 14));
  CHECK(p[1] == Approx(6.0 / 11));
  CHECK(p[2] == Approx(4.0 / 8));
  CHECK(p[3] == Approx(2.0 / 5));
  CHECK(s.brevity() == 1.0);
  // 100 * exp((ln 11/14 + ln 6/11 + ln 1/2 + ln 2/5) / 4)
  CHECK(s.score() == Approx(54.10822690539396).epsilon(1e-12));
  CHECK(s.result_string() ==
        "BLEU4 = 54.11, 78.6/54.5/50.0/40.0 (BP=1.000, ratio=1.077, syslen=14, reflen=13)");
}

TEST_CASE("bleu: brevity, empty hypotheses and zero matches", "[unit][generate][scoring]") {
  TokenBleuScorer short_hyp(1, 2, 3);
  short_hyp.add_tokens({4, 5, 6, 7, 2}, {4, 5, 2});  // reflen 4, predlen 2
  CHECK(short_hyp.brevity() == Approx(std::exp(1.0 - 2.0)));
  CHECK(short_hyp.score() == 0.0);  // no 3-gram in the hypothesis: p3 = 0
  // An empty hypothesis is its eos alone, and libbleu's trim keeps the first symbol: it counts
  // as one (unmatched) token.
  TokenBleuScorer empty(1, 2, 3);
  empty.add_tokens({4, 5, 2}, {2});
  CHECK(empty.precisions()[0] == 0.0);
  CHECK_THAT(empty.result_string(), Catch::Contains("syslen=1, reflen=2"));
  TokenBleuScorer none(1, 2, 3);
  CHECK(none.score() == 0.0);
  CHECK(none.result_string() ==
        "BLEU4 = 0.00, 0.0/0.0/0.0/0.0 (BP=0.000, ratio=0.000, syslen=0, reflen=0)");
}

TEST_CASE("bleu: the registered scorer reads pad, eos and unk from the dictionary",
          "[unit][generate][scoring]") {
  trellis::Dictionary d;  // <s>=0 <pad>=1 </s>=2 <unk>=3
  d.add_symbol("a");
  d.add_symbol("b");
  trellis::ScorerContext ctx;
  ctx.target_dictionary = &d;
  auto s = trellis::scorer_registry().create(
      "bleu", trellis::scorer_registry().make_options("bleu"), ctx);
  s->add({"a b", "a b", {4, 5, 4, 5, 2}, {4, 5, 4, 5, 2}});
  CHECK(s->score() == Approx(100.0));
  CHECK_THROWS_AS(trellis::scorer_registry().create(
                      "bleu", trellis::scorer_registry().make_options("bleu"),
                      trellis::ScorerContext{}),
                  trellis::ConfigError);
}
