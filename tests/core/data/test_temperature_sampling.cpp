// Temperature resampling (sampling_alpha) against numpy and fairseq's size-ratio formula: every
// fixture under goldens/resampling (tests/golden/make_resampling_golden.py).
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "core/data/numpy_random.h"
#include "core/data/temperature_sampling.h"
#include "core/error.h"
#include "goldens.h"
#include "skip.h"

using namespace trellis;

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("resample_indices: numpy RandomState([42, seed, epoch]).choice, bit for bit",
          "[unit][data][resampling]") {
  const auto files = trellis::testing::golden_files("resampling", ".json");
  if (files.empty())
    trellis::testing::skip_test("no resampling fixtures under " + trellis::testing::goldens_dir());
  for (const std::string& path : files) {
    const nlohmann::json golden = read_json(path);
    REQUIRE(golden["draws"].size() > 0);
    for (const auto& c : golden["draws"]) {
      const int64_t n = c["n"], seed = c["seed"], epoch = c["epoch"], size = c["size"];
      const double ratio = c["ratio"];
      INFO(path << ": n " << n << " ratio " << ratio << " seed " << seed << " epoch " << epoch);
      const std::vector<int64_t> got = resample_indices(n, ratio, seed, epoch);
      REQUIRE(static_cast<int64_t>(got.size()) == size);
      CHECK(std::accumulate(got.begin(), got.end(), int64_t{0}) == c["sum"].get<int64_t>());
      if (c.contains("indices")) {
        CHECK(got == c["indices"].get<std::vector<int64_t>>());
      } else {
        const auto head = c["head"].get<std::vector<int64_t>>();
        const auto tail = c["tail"].get<std::vector<int64_t>>();
        CHECK(std::vector<int64_t>(got.begin(), got.begin() + head.size()) == head);
        CHECK(std::vector<int64_t>(got.end() - tail.size(), got.end()) == tail);
      }
      if (!c["replace"].get<bool>())  // a permutation's prefix: no sample twice
        CHECK(std::set<int64_t>(got.begin(), got.end()).size() == got.size());
    }
  }
}

TEST_CASE("temperature_size_ratios: fairseq get_size_ratios per language pair",
          "[unit][data][resampling]") {
  int checked = 0;
  for (const std::string& path : trellis::testing::golden_files("resampling", ".json")) {
    const nlohmann::json golden = read_json(path);
    for (const auto& c : golden["ratios"]) {
      ++checked;
      const auto pairs = c["pairs"].get<std::vector<std::string>>();
      const auto frames = c["frames"].get<std::vector<int64_t>>();
      const auto want = c["ratios"].get<std::vector<double>>();
      const std::vector<double> got = temperature_size_ratios(pairs, frames, c["alpha"]);
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        INFO(path << ": alpha " << c["alpha"].get<double>() << ", split " << i);
        CHECK(got[i] == want[i]);  // the same float64 operations in the same order
      }
    }
  }
  CHECK((checked > 0 || trellis::testing::golden_files("resampling", ".json").empty()));
  // alpha 1 keeps every split at its size; alpha 0.5 raises the small pair and lowers the big
  const auto one = temperature_size_ratios({"a->b", "a->c"}, {100, 900}, 1.0);
  CHECK(one[0] == Approx(1.0));
  CHECK(one[1] == Approx(1.0));
  const auto half = temperature_size_ratios({"a->b", "a->c"}, {100, 900}, 0.5);
  CHECK(half[0] > 1.0);
  CHECK(half[1] < 1.0);
  CHECK_THROWS_AS(temperature_size_ratios({"a->b"}, {0}, 0.5), ConfigError);
  CHECK_THROWS_AS(temperature_size_ratios({"a->b"}, {10}, 0.0), ConfigError);
}

TEST_CASE("NumpyRandomState: an integer seed and the one-element array seed differ as in numpy",
          "[unit][data][resampling]") {
  // numpy: RandomState(5) uses init_genrand, RandomState([5]) init_by_array; their first draws
  // are 953453411 and 2675342405 (numpy 1.24: randint(0, 2**32, dtype=np.uint32), one raw draw).
  NumpyRandomState a(5U), b(std::vector<uint32_t>{5U});
  CHECK(a.next_uint32() == 953453411U);
  CHECK(b.next_uint32() == 2675342405U);
}
