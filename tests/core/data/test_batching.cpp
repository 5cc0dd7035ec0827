#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/data/batching.h"
#include "core/data/epoch_iterator.h"
#include "core/io/safetensors.h"
#include "core/error.h"
#include "goldens.h"
#include "skip.h"

using namespace trellis;

namespace {

Batches ragged(const SafeTensorsFile& f, const std::string& name) {
  std::vector<int64_t> v = f.get(name + ".values").to_int64();
  std::vector<int64_t> o = f.get(name + ".offsets").to_int64();
  Batches out;
  for (size_t i = 0; i + 1 < o.size(); ++i)
    out.emplace_back(v.begin() + o[i], v.begin() + o[i + 1]);
  return out;
}

std::vector<int64_t> concat(const SafeTensorsFile& f, const std::vector<std::string>& splits,
                            const std::string& field) {
  std::vector<int64_t> out;
  for (const auto& s : splits) {
    auto v = f.get(s + "." + field).to_int64();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// Which TSV splits a case reads: the single or pair of splits whose sizes give its num_tokens.
std::vector<std::string> splits_of_case(const SafeTensorsFile& f, const std::string& c) {
  std::vector<std::string> names;
  for (const auto& n : f.names()) {
    auto p = n.find(".n_frames");
    if (p != std::string::npos && p + 9 == n.size()) names.push_back(n.substr(0, p));
  }
  std::vector<std::vector<std::string>> cands;
  for (const auto& a : names) cands.push_back({a});
  for (const auto& a : names)
    for (const auto& b : names)
      if (a < b) cands.push_back({a, b});
  auto want = f.get(c + ".num_tokens").to_int64();
  for (const auto& cand : cands) {
    auto nf = concat(f, cand, "n_frames"), tl = concat(f, cand, "tgt_len");
    if (nf.size() != want.size()) continue;
    bool as_nf = nf == want, as_max = true;
    for (size_t i = 0; i < nf.size(); ++i) as_max &= std::max(nf[i], tl[i]) == want[i];
    if (as_nf || as_max) return cand;
  }
  FAIL("no split combination matches " << c);
  return {};
}

}  // namespace

TEST_CASE("batching: golden parity with FBK and upstream fairseq", "[unit][batching][golden]") {
  auto files = trellis::testing::golden_files("batching");
  REQUIRE(!files.empty());
  for (const auto& path : files) {
    SafeTensorsFile f(path);
    auto config = nlohmann::json::parse(f.meta("config"));
    BatchingStyle style = parse_batching_style(f.meta("flavour") == "fbk" ? "fbk" : "fairseq");
    std::vector<std::string> cases;
    for (const auto& n : f.names()) {
      auto p = n.find(".ordered_indices");
      if (p != std::string::npos) cases.push_back(n.substr(0, p));
    }
    REQUIRE(!cases.empty());
    for (const auto& c : cases) {
      INFO(path << " case " << c);
      auto splits = splits_of_case(f, c);
      auto nf = concat(f, splits, "n_frames"), tl = concat(f, splits, "tgt_len");
      std::vector<int64_t> num_tokens = nf;
      if (style == BatchingStyle::kFbk)
        for (size_t i = 0; i < nf.size(); ++i) num_tokens[i] = std::max(nf[i], tl[i]);
      CHECK(num_tokens == f.get(c + ".num_tokens").to_int64());

      auto order = ordered_indices(nf, style, static_cast<int64_t>(splits.size()));
      CHECK(order == f.get(c + ".ordered_indices").to_int64());
      auto maxpos = nlohmann::json::parse(f.meta(c + ".max_positions"));
      auto kept = filter_by_size(order, nf, tl, maxpos[0], maxpos[1], true);
      CHECK(kept == f.get(c + ".filtered_indices").to_int64());

      BatchingOptions o;
      o.max_tokens = config["max_tokens"];
      o.batch_size =
          c.find("sentences") != std::string::npos ? int64_t(config["max_sentences"]) : 0;
      o.required_batch_size_multiple = config["bsz_mult"];
      o.style = style;
      Batches frozen = batch_by_size(kept, num_tokens, o);
      CHECK(frozen == ragged(f, c + ".batches"));

      for (int64_t world : config["world_sizes"].get<std::vector<int64_t>>()) {
        for (int64_t rank = 0; rank < world; ++rank) {
          EpochIteratorOptions io;
          io.seed = config["seed"];
          io.num_shards = world;
          io.shard_id = rank;
          EpochBatchIterator it(frozen, io);
          for (int64_t e : config["epochs"].get<std::vector<int64_t>>()) {
            INFO("epoch " << e << " world " << world << " rank " << rank);
            CHECK(it.epoch_batches(e, true) ==
                  ragged(f, fmt::format("{}.epoch{}.world{}.rank{}", c, e, world, rank)));
          }
        }
      }
    }
  }
}

TEST_CASE("batching: numpy argsort matches numpy 1.24 on ties", "[unit][batching]") {
  // Expected values printed by numpy 1.24 (np.argsort, default kind).
  std::vector<int64_t> keys{3, 1, 2, 1, 3, 0, 2, 2, 1, 3, 1, 0, 2, 3, 1, 2, 2, 1, 0, 3};
  CHECK(numpy_argsort(keys) ==
        std::vector<int64_t>{5, 18, 11, 1, 3, 17, 8, 10, 14, 2, 6, 7, 12, 16, 15, 0, 9, 4, 13, 19});
  // np.random.RandomState(5).randint(0, 9, size=200)
  std::vector<int64_t> big{
      3, 6, 6, 0, 8, 4, 7, 0, 0, 7, 1, 5, 7, 0, 1, 4, 6, 2, 1, 2, 7, 0, 5, 0, 0, 4, 4, 3, 2,
      4, 6, 3, 3, 2, 1, 5, 7, 4, 3, 1, 7, 3, 1, 5, 7, 0, 6, 0, 5, 2, 8, 6, 8, 0, 5, 2, 0, 7,
      7, 6, 0, 0, 8, 5, 5, 6, 4, 5, 2, 8, 8, 1, 6, 3, 4, 1, 8, 0, 2, 2, 4, 1, 6, 3, 4, 3, 1,
      4, 2, 3, 4, 4, 0, 6, 6, 2, 3, 0, 8, 8, 7, 4, 8, 6, 8, 0, 5, 3, 4, 0, 2, 2, 1, 1, 7, 1,
      7, 2, 6, 3, 6, 8, 0, 1, 0, 8, 7, 7, 4, 1, 4, 2, 1, 7, 5, 4, 2, 2, 1, 2, 3, 1, 2, 4, 0,
      1, 2, 3, 8, 5, 5, 4, 3, 5, 6, 5, 1, 1, 0, 8, 0, 5, 3, 3, 0, 3, 7, 3, 7, 3, 2, 6, 6, 2,
      7, 0, 3, 7, 5, 1, 6, 7, 3, 7, 7, 6, 6, 4, 5, 4, 0, 0, 1, 5, 3, 1, 7, 0, 8, 3};
  std::vector<int64_t> want{
      144, 24,  77,  109, 60,  160, 158, 23,  92,  47,  122, 124, 53,  61,  56,  45,  21,  164, 105,
      197, 175, 190, 97,  3,   13,  8,   7,   191, 42,  145, 18,  192, 115, 86,  138, 129, 195, 141,
      123, 113, 156, 81,  14,  179, 75,  39,  112, 132, 10,  71,  34,  157, 111, 110, 78,  79,  68,
      117, 95,  88,  136, 17,  19,  173, 170, 131, 33,  146, 28,  49,  55,  137, 142, 139, 147, 194,
      182, 96,  176, 107, 140, 167, 165, 163, 162, 119, 152, 169, 0,   199, 73,  27,  31,  85,  32,
      83,  38,  41,  89,  187, 66,  128, 25,  135, 90,  15,  189, 37,  29,  26,  143, 151, 130, 74,
      91,  87,  84,  108, 5,   80,  101, 48,  178, 43,  193, 153, 150, 54,  155, 35,  161, 149, 134,
      22,  64,  67,  106, 188, 63,  11,  2,   180, 65,  154, 16,  93,  120, 30,  118, 1,   186, 94,
      172, 103, 46,  72,  51,  59,  171, 82,  185, 6,   181, 196, 174, 184, 183, 177, 12,  20,  9,
      44,  166, 116, 168, 126, 127, 58,  57,  133, 100, 40,  36,  114, 76,  102, 198, 104, 98,  4,
      125, 69,  121, 62,  52,  50,  148, 159, 70,  99};
  CHECK(numpy_argsort(big) == want);
}

TEST_CASE("batching: invariants", "[unit][batching]") {
  std::mt19937 g(7);
  std::vector<int64_t> sizes(1000);
  for (auto& s : sizes) s = 20 + g() % 900;
  for (auto style : {BatchingStyle::kFbk, BatchingStyle::kUpstream}) {
    for (int64_t bsz : {0, 24}) {
      BatchingOptions o;
      o.max_tokens = 4000;
      o.batch_size = bsz;
      o.style = style;
      auto order = ordered_indices(sizes, style);
      Batches b = batch_by_size(order, sizes, o);
      std::multiset<int64_t> seen;
      for (const auto& batch : b) {
        REQUIRE(!batch.empty());
        int64_t mx = 0;
        for (int64_t i : batch) mx = std::max(mx, sizes[i]);
        CHECK(mx * static_cast<int64_t>(batch.size()) <= o.max_tokens);
        if (bsz) CHECK(static_cast<int64_t>(batch.size()) <= bsz);
        if (batch.size() >= 8 && &batch != &b.back()) CHECK(batch.size() % 8 == 0);
        seen.insert(batch.begin(), batch.end());
      }
      if (style == BatchingStyle::kFbk) {
        CHECK(seen.size() == sizes.size());
        CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == sizes.size());
      } else {
        CHECK(b.back().size() % 8 == 0);  // upstream drops a last batch that is not a multiple
        CHECK(sizes.size() - seen.size() < 8);
      }
      CHECK(padding_fraction(b, sizes) < 0.1);  // sorted by length: little padding
    }
  }
}

TEST_CASE("batching: size filter errors name the sample; bucketing", "[unit][batching]") {
  std::vector<int64_t> src{10, 7000, 30}, tgt{3, 4, 2000};
  std::vector<std::string> ids{"a", "b", "c"};
  try {
    filter_by_size({0, 1, 2}, src, tgt, 6000, 1024, false, nullptr, ids);
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK_THAT(e.what(), Catch::Contains("#1 ('b')") && Catch::Contains("source 7000"));
  }
  std::vector<int64_t> dropped;
  CHECK(filter_by_size({0, 1, 2}, src, tgt, 6000, 1024, true, &dropped, ids) ==
        std::vector<int64_t>{0});
  CHECK(dropped == std::vector<int64_t>{1, 2});
  CHECK_THROWS_AS(batch_by_size({0, 1}, {10, 50}, BatchingOptions{40, 0, 8}), DataError);
  CHECK_THROWS_AS(batch_by_size({0, 1}, {10, 50}, BatchingOptions{}), ConfigError);

  std::vector<int64_t> s{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  auto buckets = get_buckets(s, 2);  // np.percentile(s, [0, 50, 100], 'lower')[1:] = [5, 10]
  CHECK(buckets == std::vector<int64_t>{5, 10});
  CHECK(bucketed_sizes({1, 5, 6, 10}, buckets) == std::vector<int64_t>{5, 5, 10, 10});
}

TEST_CASE("padding stays under 5% on 3-15 s utterances at --max-tokens 40000",
          "[unit][batching]") {
  // 3000 utterances of 3-15 s (300-1500 frames at 10 ms), uniformly drawn with a fixed seed.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> len(300, 1500);
  std::vector<int64_t> sizes(3000);
  for (auto& s : sizes) s = len(rng);
  for (auto style : {trellis::BatchingStyle::kFbk, trellis::BatchingStyle::kUpstream}) {
    trellis::BatchingOptions o;
    o.max_tokens = 40000;
    o.style = style;
    auto order = trellis::ordered_indices(sizes, style);
    auto batches = trellis::batch_by_size(order, sizes, o);
    double pad = trellis::padding_fraction(batches, sizes);
    INFO("padding fraction " << pad << " over " << batches.size() << " batches");
    CHECK(pad < 0.05);
  }
}

TEST_CASE("shuffled_tie_order: fairseq's `shuffle: true` order, numpy's lexsort of a permutation",
          "[unit][data][batching]") {
  const auto files = trellis::testing::golden_files("batching", ".json");
  if (files.empty())
    trellis::testing::skip_test("no numpy_shuffle_order.json under " +
                                trellis::testing::goldens_dir() + "/batching");
  int checked = 0;
  for (const std::string& path : files) {
    std::ifstream in(path);
    const nlohmann::json golden = nlohmann::json::parse(in);
    for (const auto& c : golden["cases"]) {
      const auto n_frames = c["n_frames"].get<std::vector<int64_t>>();
      const auto seed = c["seed"].get<uint32_t>();
      INFO(path << ": " << n_frames.size() << " samples, seed " << seed);
      CHECK(shuffled_tie_order(n_frames, seed) == c["order"].get<std::vector<int64_t>>());
      ++checked;
    }
  }
  CHECK(checked > 0);
  // Without ties the seed does not matter: plain descending order.
  CHECK(shuffled_tie_order({5, 9, 7}, 1) == std::vector<int64_t>{1, 2, 0});
  CHECK(shuffled_tie_order({5, 9, 7}, 99) == std::vector<int64_t>{1, 2, 0});
}
