// The ARPA n-gram reader (core/generate/arpa_lm.h): sentence log10-probabilities of the
// hand-written tests/data/lm/toy.arpa computed by hand, the incremental state, malformed
// files, and IRSTLM's own scores on a model IRSTLM builds (skipped when irstlm is absent).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/generate/arpa_lm.h"
#include "run_command.h"
#include "skip.h"

using namespace trellis;

namespace {

const std::string kToy = std::string(TRELLIS_TEST_DATA) + "/lm/toy.arpa";

std::vector<std::string> words_of(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

LmState ctx(const ArpaLm& lm, const std::string& s) {
  LmState st;
  for (const auto& w : words_of(s)) st.words.push_back(lm.word_id(w));
  return st;
}

// The error message of parsing `text` as "bad.arpa" ("" when it parses).
std::string parse_error(const std::string& text) {
  std::istringstream in(text);
  try {
    ArpaLm::parse(in, "bad.arpa");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("arpa: toy model, sentence scores by hand", "[unit][lm]") {
  const ArpaLm lm = ArpaLm::load(kToy);
  CHECK(lm.order() == 3);
  CHECK(lm.count(1) == 6);
  CHECK(lm.count(2) == 5);
  CHECK(lm.count(3) == 2);
  CHECK(lm.contains("a"));
  CHECK_FALSE(lm.contains("x"));
  CHECK(lm.word_id("x") == lm.unk());
  CHECK(lm.word(lm.bos()) == "<s>");
  CHECK(lm.word(lm.eos()) == "</s>");
  const auto s = [&](const std::string& sent) { return lm.sentence_log10(words_of(sent)); };

  // "a b c": p(a|<s>) = 2-gram -0.2; p(b|<s> a) = 3-gram -0.05; p(c|a b) = 3-gram -0.15;
  // p(</s>|b c): no 3-gram, bo(b c) = 0 (listed, no backoff), no 2-gram "c </s>", bo(c) = 0,
  // 1-gram </s> -0.5.  Total -0.9.
  CHECK(s("a b c") == Approx(-0.9).margin(1e-12));
  // "b a": p(b|<s>) = bo(<s>) -0.5 + p(b) -0.7 = -1.2; state cut to (b);
  // p(a|b) = bo(b) -0.2 + p(a) -0.6 = -0.8; p(</s>|a) = bo(a) -0.3 + p(</s>) -0.5 = -0.8.
  // Total -2.8.
  CHECK(s("b a") == Approx(-2.8).margin(1e-12));
  // "a b": -0.2 - 0.05, then p(</s>|a b) = bo(a b) -0.4 + 2-gram "b </s>" -0.4 = -0.8.
  // Total -1.05.
  CHECK(s("a b") == Approx(-1.05).margin(1e-12));
  // OOV "a x b": -0.2; p(<unk>|<s> a) = bo(<s> a) -0.1 + bo(a) -0.3 + p(<unk>) -1.0 = -1.4;
  // p(b|<unk>) = bo(<unk>) 0 + p(b) -0.7; p(</s>|b) = 2-gram -0.4.  Total -2.7.
  CHECK(s("a x b") == Approx(-2.7).margin(1e-12));
  // Two backoffs in one step: "a c a": -0.2; p(c|<s> a) = -0.1 - 0.3 + p(c) -0.8 = -1.2;
  // p(a|c) = 2-gram "c a" -0.35; p(</s>|c a) = bo(c a) 0 + bo(a) -0.3 - 0.5 = -0.8.
  // Total -2.55.
  CHECK(s("a c a") == Approx(-2.55).margin(1e-12));
  // Without </s>: "a b" -0.25.
  CHECK(lm.sentence_log10(words_of("a b"), false) == Approx(-0.25).margin(1e-12));
}

TEST_CASE("arpa: incremental states are the contexts that matter", "[unit][lm]") {
  const ArpaLm lm = ArpaLm::load(kToy);
  LmState st = lm.begin_sentence();
  CHECK(st == ctx(lm, "<s>"));
  double total = lm.score_log10(st, lm.word_id("a"), &st);
  CHECK(st == ctx(lm, "<s> a"));
  total += lm.score_log10(st, lm.word_id("b"), &st);
  CHECK(st == ctx(lm, "a b"));  // at most order-1 = 2 words
  CHECK(total == Approx(-0.25).margin(1e-12));
  LmState next;
  lm.score_log10(lm.begin_sentence(), lm.word_id("b"), &next);
  CHECK(next == ctx(lm, "b"));  // "<s> b" is no context: cut to (b)
  lm.score_log10(ctx(lm, "c"), lm.word_id("a"), &next);
  CHECK(next == ctx(lm, "c a"));
  lm.score_log10(ctx(lm, "b"), lm.word_id("x"), &next);
  CHECK(next == ctx(lm, "<unk>"));
  // Natural log = log10 * ln 10; an untrimmed context scores as its trimmed state.
  CHECK(lm.score(ctx(lm, "a"), lm.word_id("c")) ==
        Approx((-0.3 - 0.8) * std::log(10.0)).margin(1e-12));
  CHECK(lm.score_log10(ctx(lm, "c b"), lm.eos()) == lm.score_log10(ctx(lm, "b"), lm.eos()));
  // The empty context: the 1-gram probability.
  CHECK(lm.score_log10(lm.null_context(), lm.word_id("b")) == Approx(-0.7).margin(1e-12));
}

TEST_CASE("arpa: a model without <unk> scores unknown words -100", "[unit][lm]") {
  std::istringstream in(
      "\\data\\\nngram 1=3\n\n\\1-grams:\n-0.5\t<s>\n-0.3\t</s>\n-0.2\tw\n"
      "\n\\end\\\n");
  const ArpaLm lm = ArpaLm::parse(in, "nounk.arpa");
  CHECK(lm.order() == 1);
  CHECK_FALSE(lm.contains("<unk>"));
  CHECK(lm.sentence_log10({"w", "zzz"}) == Approx(-0.2 - 100.0 - 0.3).margin(1e-9));
}

TEST_CASE("arpa: malformed files name the file and line", "[unit][lm]") {
  // Line numbers:          1           2            3   4              5           6
  const std::string head = "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-0.5\t<s>\t-0.1\n";
  //   7              8       9   10             11             12  13
  const std::string rest = "-0.5\t</s>\n-0.5\ta\n\n\\2-grams:\n-0.2\t<s> a\n\n\\end\\\n";
  REQUIRE(parse_error(head + rest).empty());
  CHECK_THAT(parse_error("\\data\\\nngram 1=4\n\n\\1-grams:\n-0.5\t<s>\n-0.5\t</s>\n\n\\end\\\n"),
             Catch::Contains("bad.arpa:8:") && Catch::Contains("has 2 entries, \\data\\ says 4"));
  CHECK_THAT(parse_error("\\data\\\nngram 1=1\n\n\\1-grams:\n-0.5\t<s>\n-0.5\t</s>\n\\end\\\n"),
             Catch::Contains("bad.arpa:6:") && Catch::Contains("more 1-grams than"));
  CHECK_THAT(parse_error(head + "-0.5x\t</s>\n"),
             Catch::Contains("bad.arpa:7:") && Catch::Contains("'-0.5x' is not a number"));
  CHECK_THAT(parse_error(head + "-0.5\t</s>\t--1\n"),
             Catch::Contains("bad.arpa:7:") && Catch::Contains("'--1' is not a number"));
  CHECK_THAT(parse_error(head + "0.5\t</s>\n"),
             Catch::Contains("bad.arpa:7:") && Catch::Contains("above 0"));
  CHECK_THAT(parse_error(head + "-0.5\n"),
             Catch::Contains("bad.arpa:7:") && Catch::Contains("got 1 field(s)"));
  CHECK_THAT(parse_error(head + "-0.5\t</s>\n-0.5\ta\n\n\\end\\\n"),
             Catch::Contains("bad.arpa:10:") && Catch::Contains("expected section \\2-grams:"));
  CHECK_THAT(parse_error(head + "-0.5\t</s>\n-0.5\ta\n"),
             Catch::Contains("missing section \\2-grams:"));
  CHECK_THAT(parse_error(head + "-0.5\t</s>\n-0.5\ta\n\n\\2-grams:\n-0.2\t<s> q\n"),
             Catch::Contains("bad.arpa:11:") && Catch::Contains("'q' is not in the 1-grams"));
  CHECK_THAT(parse_error(head + "-0.5\t</s>\n-0.5\t</s>\n"),
             Catch::Contains("bad.arpa:8:") && Catch::Contains("listed twice"));
  CHECK_THAT(parse_error(head + rest.substr(0, rest.find("\\end"))),
             Catch::Contains("missing \\end\\"));
  CHECK_THAT(parse_error("ngram 1=2\n"),
             Catch::Contains("bad.arpa:1:") && Catch::Contains("no \\data\\ line"));
  CHECK_THAT(parse_error("\\data\\\nngram 2=1\n"),
             Catch::Contains("bad.arpa:2:") && Catch::Contains("out of order"));
  CHECK_THAT(parse_error("\\data\\\nngram 1=x\n"),
             Catch::Contains("bad.arpa:2:") && Catch::Contains("'x' is not a number"));
  CHECK_THAT(parse_error("\\data\\\nngram 1=2\n\\1-grams:\n-1\ta\n-1\tb\n\\end\\\n"),
             Catch::Contains("bad.arpa") && Catch::Contains("no <s> or no </s>"));
  CHECK_THROWS_WITH(ArpaLm::load("/nonexistent/lm.arpa"),
                    Catch::Contains("/nonexistent/lm.arpa: cannot open"));
}

namespace {

// IRSTLM's tools: $IRSTLM/bin when IRSTLM is set (IRSTLM's own convention), else Debian's
// /usr/lib/irstlm/bin.
std::string irstlm_bin() {
  std::vector<std::string> dirs;
  if (const char* e = std::getenv("IRSTLM"))
    dirs.push_back(std::string(e) + "/bin");
  else
    dirs.push_back("/usr/lib/irstlm/bin");
  for (const auto& d : dirs)
    if (std::filesystem::exists(d + "/tlm") && std::filesystem::exists(d + "/compile-lm")) return d;
  return "";
}

// A small deterministic corpus: subject verb object sentences from a linear congruential
// generator, so the model has 2-, 3- and 4-grams with real backoff weights.
std::vector<std::string> toy_corpus(int n) {
  const std::vector<std::string> subj{"the cat",   "the dog",     "a bird",
                                      "my friend", "the old man", "a child"};
  const std::vector<std::string> verb{"sat on", "ate", "saw", "liked", "ran to", "found"};
  const std::vector<std::string> obj{"the mat", "a fish",    "the tree", "the house",
                                     "a bone",  "the river", "my hat"};
  std::vector<std::string> out;
  uint32_t x = 12345;
  auto pick = [&](size_t m) {
    x = x * 1103515245u + 12345u;
    return static_cast<size_t>((x >> 16) % m);
  };
  for (int i = 0; i < n; ++i) {
    std::string s =
        subj[pick(subj.size())] + " " + verb[pick(verb.size())] + " " + obj[pick(obj.size())];
    if (pick(3) == 0) s += " today";
    out.push_back(s);
  }
  return out;
}

struct Window {
  std::vector<std::string> words;  // context then the scored word
  double log10p = 0.0;
};

// The "WORDS\t1 ..." lines of compile-lm's --score or --eval --debug=3 output; `value` matches
// the score after the tab. Sentences (lines of the input) are split at </s>.
std::vector<std::vector<Window>> windows_of(const std::string& output, const std::regex& line_re,
                                            double scale) {
  std::vector<std::vector<Window>> sentences(1);
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    while (line.rfind("> ", 0) == 0) line = line.substr(2);
    std::smatch m;
    if (!std::regex_match(line, m, line_re)) continue;
    Window w{words_of(m[1].str()), 0.0};
    const std::string v = m[2].str();
    if (v == "NULL") continue;  // a window shorter than the order (--score)
    w.log10p = std::strtod(v.c_str(), nullptr) * scale;
    sentences.back().push_back(w);
    if (w.words.back() == "</s>") sentences.emplace_back();
  }
  sentences.pop_back();
  return sentences;
}

}  // namespace

TEST_CASE("arpa: equals IRSTLM's scores on models IRSTLM builds", "[unit][lm]") {
  const std::string bin = irstlm_bin();
  if (bin.empty())
    trellis::testing::skip_test(
        "irstlm not installed (apt-get install irstlm; "
        "scripts/install_deps.sh)");
  const std::string dir = trellis::testing::fresh_dir("arpa_irstlm");
  {
    std::ofstream train(dir + "/train.txt");
    for (const auto& s : toy_corpus(400)) train << "<s> " << s << " </s>\n";
  }
  // In-domain sentences, unseen combinations (backoff), an OOV word, and a long one.
  const std::vector<std::string> test{"the cat sat on the mat",
                                      "a child found my hat today",
                                      "the zebra ate the river",
                                      "my friend ran to the old man",
                                      "the house liked a bird today today",
                                      "a fish"};
  {
    std::ofstream t(dir + "/test.txt");
    for (const auto& s : test) t << "<s> " << s << " </s>\n";
  }
  for (const auto& [order, smoothing] :
       std::vector<std::pair<int, std::string>>{{3, "wb"}, {4, "sb"}, {2, "wb"}}) {
    INFO("tlm -n=" << order << " -lm=" << smoothing);
    const std::string arpa = dir + "/" + smoothing + std::to_string(order) + ".arpa";
    const auto built = trellis::testing::run_command(
        "cd " + dir + " && " + bin + "/tlm -tr=train.txt -n=" + std::to_string(order) +
        " -lm=" + smoothing + " -o=" + arpa);
    INFO(built.output);
    REQUIRE(built.exit_code == 0);
    const ArpaLm lm = ArpaLm::load(arpa);
    REQUIRE(lm.order() == order);
    REQUIRE(lm.count(order) > 0);
    // IRSTLM adds log10(dub - |V|) to OOV words; dub = |V| + 1 makes that 0 (|V| with <unk>).
    const std::string dub = std::to_string(lm.count(1) + 1);

    // Full-order windows with full precision: --score prints natural logs as hex floats.
    const auto scored =
        trellis::testing::run_command("cd " + dir + " && " + bin + "/compile-lm " + arpa +
                                      " --score=yes --dub=" + dub + " < test.txt");
    REQUIRE(scored.exit_code == 0);
    const auto exact = windows_of(scored.output, std::regex(R"((.*)\t1 p= (\S+) bo= \d+\s*)"),
                                  1.0 / std::log(10.0));
    // Every word with 2 decimals: --eval --debug=3 prints log10 per word, short windows too.
    const auto eval =
        trellis::testing::run_command("cd " + dir + " && " + bin + "/compile-lm " + arpa +
                                      " --eval=test.txt --sentence=yes --debug=3 --dub=" + dub);
    REQUIRE(eval.exit_code == 0);
    const auto rounded =
        windows_of(eval.output, std::regex(R"((.*)\t1 \[\d+-gram\] (\S+) bow:.*)"), 1.0);
    REQUIRE(exact.size() == test.size());
    REQUIRE(rounded.size() == test.size());

    int compared_exact = 0;
    for (size_t i = 0; i < test.size(); ++i) {
      INFO(test[i]);
      const auto words = words_of(test[i]);
      // ours word by word from <s>, then </s>
      std::vector<double> ours;
      LmState st = lm.begin_sentence();
      for (const auto& w : words) ours.push_back(lm.score_log10(st, lm.word_id(w), &st));
      ours.push_back(lm.score_log10(st, lm.eos(), &st));
      REQUIRE(rounded[i].size() == ours.size());
      double theirs_total = 0.0;
      for (size_t k = 0; k < ours.size(); ++k) {
        CHECK(ours[k] == Approx(rounded[i][k].log10p).margin(0.005 + 1e-9));
        theirs_total += rounded[i][k].log10p;
      }
      CHECK(lm.sentence_log10(words) == Approx(theirs_total).margin(0.005 * ours.size()));
      // The windows of full order: the last `order` words of <s> w1 .. wk, exactly.
      const size_t first = static_cast<size_t>(order) - 2;  // word index of the first one
      REQUIRE(exact[i].size() == ours.size() - first);
      for (size_t k = first; k < ours.size(); ++k) {
        const Window& w = exact[i][k - first];
        CHECK(static_cast<int>(w.words.size()) == order);
        CHECK(ours[k] == Approx(w.log10p).margin(1e-6));
        // and the same window scored from its own words (IRSTLM maps OOVs to <unk>)
        LmState c;
        for (size_t j = 0; j + 1 < w.words.size(); ++j) c.words.push_back(lm.word_id(w.words[j]));
        CHECK(lm.score_log10(c, lm.word_id(w.words.back())) == Approx(w.log10p).margin(1e-6));
        ++compared_exact;
      }
    }
    CHECK(compared_exact >= 20);
  }
}
