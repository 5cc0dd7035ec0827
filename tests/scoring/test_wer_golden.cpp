// WerScorer against tests/data/wer/expected.tsv, made by tests/golden/make_wer_golden.py (an
// independent Python implementation of fairseq's WER normalisation and of the edit distance)
// from the pairs of tests/data/wer/pairs.tsv.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "scoring/wer.h"

using namespace trellis;

TEST_CASE("wer scorer: fairseq's normalisations match the Python golden", "[unit][generate]") {
  const std::string dir = std::string(TRELLIS_TEST_DATA) + "/wer/";
  std::map<std::string, WerOptions> cases;
  cases["none"] = WerOptions{};
  cases["lowercase"].lowercase = true;
  cases["remove_punct"].remove_punct = true;
  cases["remove_punct+lowercase"].remove_punct = true;
  cases["remove_punct+lowercase"].lowercase = true;
  cases["char_level"].char_level = true;
  cases["cer"].cer = true;

  std::ifstream expected(dir + "expected.tsv");
  REQUIRE(expected.good());
  std::string line;
  std::getline(expected, line);  // header
  int checked = 0;
  while (std::getline(expected, line)) {
    std::istringstream row(line);
    std::string name;
    double errors = 0, length = 0, rate = 0;
    row >> name >> errors >> length >> rate;
    INFO("case " << name);
    REQUIRE(cases.count(name));
    WerScorer scorer(cases.at(name));
    std::ifstream pairs(dir + "pairs.tsv");
    for (std::string p; std::getline(pairs, p);) {
      const auto tab = p.find('\t');
      REQUIRE(tab != std::string::npos);
      scorer.add_string(p.substr(0, tab), p.substr(tab + 1));
    }
    CHECK(scorer.score() == Approx(rate).margin(1e-5));
    ++checked;
  }
  CHECK(checked == 6);
}
