// --scoring sacrebleu against numbers sacreBLEU itself printed, from its repository
// (github.com/mjpost/sacrebleu): README.md (commit 078c440, the "Using SacreBLEU from Python"
// and "Variable Number of References" examples), test/test_bleu.py (2ae1366) and
// test/test_sentence_bleu.py (27bec34), each checked to the precision given there. Values
// marked "by hand" follow from the rules of sacrebleu/tokenizers/tokenizer_13a.py,
// tokenizer_re.py and metrics/bleu.py (sacreBLEU's tests hold no 13a-tokenized strings).
#include <catch2/catch.hpp>
#include <cmath>

#include "core/error.h"
#include "scoring/sacrebleu.h"
#include "scoring/tokenizer_13a.h"
#include "scoring/wer.h"
#include "core/interfaces/scorer.h"

using namespace trellis;

namespace {

// sacreBLEU's README / test_bleu.py example: three system lines, two reference streams.
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.",
                                        "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

// test_sentence_bleu.py's pair (sacreBLEU issue #98).
const std::string kRoRef = "producţia de zahăr brut se exprimă în zahăr alb;";
const std::string kRoSys =
    "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";

// Corpus BLEU of one hypothesis against one reference.
BleuScore one_pair(const std::string& hyp, const std::string& ref, BleuOptions o = {}) {
  return corpus_bleu({hyp}, {{ref}}, o);
}

}  // namespace

TEST_CASE("tokenize_13a: mteval-v13a rules", "[unit][generate]") {
  // By hand from tokenizer_13a.py / tokenizer_re.py; the README's hyp_len = 17 (below) also
  // depends on "wasn't" staying whole and the final periods splitting off.
  CHECK(tokenize_13a("The dog bit the man.") == "The dog bit the man .");
  CHECK(tokenize_13a("It wasn't surprising.") == "It wasn't surprising .");
  CHECK(tokenize_13a("Hello, world! (3.14, 1,000 and 10-20)") ==
        "Hello , world ! ( 3.14 , 1,000 and 10 - 20 )");
  CHECK(tokenize_13a("&quot;Hi&quot; &amp; &lt;b&gt;") == "\" Hi \" & < b >");
  CHECK(tokenize_13a("co-\noperate<skipped> now\nthen") == "cooperate now then");
  CHECK(tokenize_13a("e-mail: x.y, 5-3 km/h") == "e-mail : x . y , 5 - 3 km / h");
  CHECK(tokenize_13a("U.S.A. costs $5.00...") == "U . S . A . costs $ 5.00 . . .");
  CHECK(tokenize_13a(kRoRef) == "producţia de zahăr brut se exprimă în zahăr alb ;");
  CHECK(tokenize_13a("  a\u00A0b\tc ") == "a b c");  // Python's split: NBSP is whitespace
  CHECK(tokenize_13a("") == "");
}

TEST_CASE("unicode_lower: Python's str.lower", "[unit][generate]") {
  // Python 3.11's str.lower(): dotted capital I -> "i" + U+0307, final sigma -> U+03C2.
  CHECK(unicode_lower("ÉCOLE İstanbul ΟΔΟΣ ΣΑ") == "école i\u0307stanbul οδος σα");
  CHECK(unicode_lower("Ǆ ÆØÅ ЖЁ Ｑ") == "ǆ æøå жё ｑ");
}

TEST_CASE("sacrebleu: corpus BLEU equals sacreBLEU's published scores", "[unit][generate]") {
  // README.md: BLEU().corpus_score(sys, refs), the exact line sacreBLEU prints.
  const auto readme = corpus_bleu(kHyps, kRefs);
  CHECK(readme.format() ==
        "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  // test_bleu.py test_corpus_bleu, EPSILON = 1e-8: default (13a), tokenize='none', empty hyps.
  CHECK(readme.score == Approx(48.530827).epsilon(0).margin(1e-8));
  BleuOptions none;
  none.tokenizer = "none";
  CHECK(corpus_bleu(kHyps, kRefs, none).score == Approx(49.1919566).epsilon(0).margin(1e-8));
  CHECK(corpus_bleu({"", "", ""}, kRefs).score == 0.0);
  // README.md, variable number of references: the first sentence's first reference is ''.
  auto var_refs = kRefs;
  var_refs[0][0] = "";
  CHECK(corpus_bleu(kHyps, var_refs).format() ==
        "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  // test_bleu.py test_raw_bleu: identical sentences give 1.0 (x100).
  CHECK(one_pair("this is a test", "this is a test").score ==
        Approx(100.0).epsilon(0).margin(1e-6));
}

TEST_CASE("sacrebleu: statistics and compute_bleu from test_bleu.py", "[unit][generate]") {
  // test_case_statistics: matched and total n-grams of orders 1..4.
  const auto st = bleu_segment_stats(bleu_tokens("am I am a character sequence", {}),
                                     {bleu_tokens("I am a symbol string sequence a a", {})});
  CHECK(st.correct == std::array<int64_t, 4>{4, 2, 1, 0});
  CHECK(st.total == std::array<int64_t, 4>{6, 5, 4, 3});
  // test_case_scoring (smoothing 'none'; no order without a match, so 'exp' is the same).
  BleuStats s;
  s.correct = {9, 7, 5, 3};
  s.total = {10, 8, 6, 4};
  s.sys_len = s.ref_len = 11;
  CHECK(compute_bleu(s).score / 100 == Approx(0.8375922397).epsilon(0).margin(1e-8));
}

TEST_CASE("sacrebleu: sentence pair of test_sentence_bleu.py", "[unit][generate]") {
  // 'exp' smoothing, EPSILON = 1e-3. sacreBLEU's test sets effective_order, which changes
  // nothing here: the hypothesis has n-grams of all four orders.
  CHECK(one_pair(kRoSys, kRoRef).score == Approx(8.493).epsilon(0).margin(1e-3));
  BleuOptions none;
  none.tokenizer = "none";
  CHECK(one_pair(kRoSys, kRoRef, none).score == Approx(7.347).epsilon(0).margin(1e-3));
  // test_cases_zero_bleu (#141): no n-gram matches -> 0 with 'exp'; the line by hand.
  const auto zero = one_pair("this is a cat", "okay thanks");
  CHECK(zero.score == 0.0);
  CHECK(zero.format() ==
        "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 1.000 ratio = 2.000 hyp_len = 4 ref_len = 2)");
}

TEST_CASE("sacrebleu: smoothing, brevity penalty and lowercasing by hand", "[unit][generate]") {
  // One order without a match: p4 = 100 / (2 * 1); BLEU = (3/4 * 2/3 * 1/2 * 1/2)^(1/4).
  CHECK(one_pair("this is a fest", "this is a test").format() ==
        "BLEU = 59.46 75.0/66.7/50.0/50.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)");
  // No 4-gram at all: precision 0, log floored, BLEU 0 (effective order is off).
  CHECK(one_pair("the cat sat", "the cat sat").format() ==
        "BLEU = 0.00 100.0/100.0/100.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 3 ref_len = 3)");
  // Short hypothesis: BP = exp(1 - 6/5).
  const auto short_hyp = one_pair("the cat sat on the", "the cat sat on the mat");
  CHECK(short_hyp.score == Approx(100 * std::exp(-0.2)).epsilon(0).margin(1e-9));
  CHECK(short_hyp.format() ==
        "BLEU = 81.87 100.0/100.0/100.0/100.0 (BP = 0.819 ratio = 0.833 hyp_len = 5 ref_len = 6)");
  // Lowercasing: 4/7, 2/6, 1/5 and 0/4 -> 100 / (2 * 4) mixed-case; all match lowercased.
  const std::string hyp = "The Cat sat on the MAT.", ref = "the cat sat on the mat.";
  CHECK(one_pair(hyp, ref).format() ==
        "BLEU = 26.27 57.1/33.3/20.0/12.5 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)");
  BleuOptions lc;
  lc.lowercase = true;
  CHECK(one_pair(hyp, ref, lc).score == Approx(100.0).epsilon(0).margin(1e-9));
}

TEST_CASE("sacrebleu scorer: the registry, flags and refusals", "[unit][generate]") {
  AnyOptions o = scorer_registry().make_options("sacrebleu");
  Fields fields = o.fields();
  auto make = [&] { return scorer_registry().create("sacrebleu", o, ScorerContext{}); };
  auto scorer = make();
  for (size_t i = 0; i < kHyps.size(); ++i)
    scorer->add({kRefs[0][i], kHyps[i], {}, {}});
  const double single = corpus_bleu(kHyps, {kRefs[0]}).score;
  CHECK(scorer->score() == single);
  CHECK(scorer->result_string() == corpus_bleu(kHyps, {kRefs[0]}).format());
  CHECK_THROWS_AS(scorer->add({"", "a hypothesis", {}, {}}), DataError);
  fields.find("sacrebleu_lowercase")->set_from_string("true", "--sacrebleu-lowercase");
  auto lower = make();
  lower->add({"the cat sat on the mat.", "The Cat sat on the MAT.", {}, {}});
  CHECK(lower->score() == Approx(100.0).epsilon(0).margin(1e-9));
  fields.find("sacrebleu_tokenizer")->set_from_string("char", "--sacrebleu-tokenizer");
  auto chars = make();
  chars->add({"abc de", "a bcde", {}, {}});  // the same characters: a, b, c, d, e
  CHECK(chars->score() == Approx(100.0).epsilon(0).margin(1e-9));
  fields.find("sacrebleu_tokenizer")->set_from_string("intl", "--sacrebleu-tokenizer");
  CHECK_THROWS_AS(make(), ConfigError);
  CHECK_THROWS_WITH(make(), Catch::Contains("--sacrebleu-tokenizer intl"));
}

TEST_CASE("wer scorer: --wer-tokenizer 13a and char", "[unit][generate]") {
  WerOptions o;
  o.tokenizer = "13a";
  CHECK(wer_tokens("Hello, world!", o) == std::vector<std::string>{"Hello", ",", "world", "!"});
  o.remove_punct = true;
  CHECK(wer_tokens("Hello, world!", o) == std::vector<std::string>{"Hello", "world"});
  WerScorer wer(o);
  wer.add_string("It was 3.5 km.", "it was 3.5 km");
  CHECK(wer.score() == Approx(100.0 / 4));  // "It" vs "it"
  o.tokenizer = "intl";
  CHECK_THROWS_AS(wer_tokens("a", o), ConfigError);
  o.tokenizer = "char";  // every non-whitespace character a token; punctuation still dropped
  CHECK(wer_tokens("ab, c\u00e9", o) == std::vector<std::string>{"a", "b", "c", "\u00e9"});
  o.remove_punct = false;
  CHECK(wer_tokens("ab, c", o) == std::vector<std::string>{"a", "b", ",", "c"});
  WerScorer by_char(o);
  by_char.add_string("\u4eca\u5929\u5929\u6c14\u5f88\u597d", "\u4eca\u5929\u6c14\u597d");
  CHECK(by_char.score() == Approx(100.0 * 2 / 6));  // two deletions of six characters
  o.char_level = true;
  CHECK_THROWS_WITH(wer_tokens("a", o), Catch::Contains("--wer-char-level"));
}

TEST_CASE("sacrebleu: --sacrebleu-tokenizer char, every non-whitespace code point",
          "[unit][generate]") {
  BleuOptions o;
  o.tokenizer = "char";
  CHECK(bleu_tokens(" a b\tc ", o) == std::vector<std::string>{"a", "b", "c"});
  // UTF-8: one token per code point (2-, 3- and 4-byte sequences), punctuation included
  CHECK(bleu_tokens("\u00e9t\u00e9, \u4eca\u5929\U0001F600", o) ==
        std::vector<std::string>{"\u00e9", "t", "\u00e9", ",", "\u4eca", "\u5929",
                                 "\U0001F600"});
  o.lowercase = true;
  CHECK(bleu_tokens("AB", o) == std::vector<std::string>{"a", "b"});
  o.lowercase = false;
  // "jin tian tian qi hao" against "jin tian tian qi hen hao", by hand: matches per order
  // 5/5, 3/4, 2/3, 1/2; lengths 5 and 6
  const BleuStats s = bleu_segment_stats(
      bleu_tokens("\u4eca\u5929\u5929\u6c14\u597d", o),
      {bleu_tokens("\u4eca\u5929\u5929\u6c14\u5f88\u597d", o)});
  CHECK(s.sys_len == 5);
  CHECK(s.ref_len == 6);
  CHECK(s.correct == std::array<int64_t, kBleuMaxOrder>{5, 3, 2, 1});
  CHECK(s.total == std::array<int64_t, kBleuMaxOrder>{5, 4, 3, 2});
}
