#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "core/data/batching.h"
#include "core/data/epoch_iterator.h"
#include "core/data/numpy_random.h"

using namespace trellis;

namespace {

Batches make_batches(int64_t n_samples = 500) {
  std::mt19937 g(3);
  std::vector<int64_t> sizes(static_cast<size_t>(n_samples));
  for (auto& s : sizes) s = 10 + g() % 500;
  BatchingOptions o;
  o.max_tokens = 3000;
  return batch_by_size(ordered_indices(sizes, BatchingStyle::kFbk), sizes, o);
}

Batches drain(EpochBatchIterator& it) {
  Batches out;
  while (it.has_next()) out.push_back(it.next());
  return out;
}

}  // namespace

TEST_CASE("numpy RandomState: MT19937 stream and shuffle match numpy", "[unit][batching]") {
  // np.random.RandomState(1).randint(0, 2**32, dtype=np.uint64) draws 32-bit words; the first
  // genrand output for seed 1 is 1791095845 (MT19937 reference).
  NumpyRandomState r(1);
  CHECK(r.next_uint32() == 1791095845u);
  // np.random.seed(3); x = list(range(10)); np.random.shuffle(x) -> [5, 4, 1, 2, 9, 6, 7, 0, 3, 8]
  NumpyRandomState s(3);
  std::vector<int> x{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  s.shuffle(x);
  CHECK(x == std::vector<int>{5, 4, 1, 2, 9, 6, 7, 0, 3, 8});
}

TEST_CASE("epoch iterator: every sample once per epoch across ranks, equal batch counts",
          "[unit][batching][iterator]") {
  Batches frozen = make_batches();
  for (int64_t world : {1, 2, 3, 4}) {
    for (int64_t epoch : {1, 2, 3}) {
      std::multiset<int64_t> seen;
      size_t count = 0;
      for (int64_t rank = 0; rank < world; ++rank) {
        EpochIteratorOptions o;
        o.seed = 5;
        o.num_shards = world;
        o.shard_id = rank;
        EpochBatchIterator it(frozen, o);
        Batches b = it.epoch_batches(epoch, true);
        if (rank == 0) count = b.size();
        CHECK(b.size() == count);
        CHECK(count == (frozen.size() + world - 1) / world);
        for (const auto& batch : b) seen.insert(batch.begin(), batch.end());
      }
      CHECK(seen.size() == 500);
      CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == 500);
    }
  }
  EpochIteratorOptions o;
  o.seed = 5;
  EpochBatchIterator a(frozen, o), b(frozen, o);
  CHECK(a.epoch_batches(1, true) == b.epoch_batches(1, true));
  CHECK(a.epoch_batches(1, true) != a.epoch_batches(2, true));
  CHECK(a.epoch_batches(1, false) == frozen);
  o.curriculum = 1;
  EpochBatchIterator c(frozen, o);
  CHECK(c.epoch_batches(1, true) == frozen);
}

TEST_CASE("epoch iterator: state/load_state resumes exactly", "[unit][batching][iterator]") {
  Batches frozen = make_batches();
  EpochIteratorOptions o;
  o.seed = 11;
  EpochBatchIterator it(frozen, o);
  CHECK(it.next_epoch() == 1);
  drain(it);
  CHECK(it.end_of_epoch());
  CHECK(it.state().epoch == 2);
  CHECK(it.state().iterations_in_epoch == 0);
  CHECK(it.next_epoch() == 2);
  const int64_t k = 5;
  for (int64_t i = 0; i < k; ++i) it.next();
  IteratorState s = it.state();
  CHECK(s.epoch == 2);
  CHECK(s.iterations_in_epoch == k);
  Batches rest = drain(it);

  EpochBatchIterator resumed(frozen, o);
  resumed.load_state(s);
  CHECK(resumed.iterations_in_epoch() == k);
  CHECK(resumed.next_epoch() == 2);
  CHECK(drain(resumed) == rest);
  CHECK(resumed.next_epoch() == 3);
  CHECK(resumed.remaining() == it.epoch_batches(3, true));

  // Batches changed (fewer than saved offset): clear error.
  EpochBatchIterator small(Batches(frozen.begin(), frozen.begin() + 3), o);
  CHECK_THROWS_WITH(small.load_state(s), Catch::Contains("--reset-dataloader"));
}

TEST_CASE("prefetcher: output order independent of worker count", "[unit][batching][iterator]") {
  Batches frozen = make_batches();
  auto load = [](const Batch& b) {
    std::this_thread::sleep_for(std::chrono::microseconds((b.front() * 7919) % 300));
    int64_t s = 0;
    for (int64_t i : b) s = s * 31 + i;
    return s;
  };
  std::vector<int64_t> ref;
  for (int workers : {0, 1, 2, 4, 7}) {
    Prefetcher<int64_t> p(frozen, load, workers, 3);
    std::vector<int64_t> got;
    while (auto v = p.next()) got.push_back(*v);
    if (workers == 0) ref = got;
    CHECK(got.size() == frozen.size());
    CHECK(got == ref);
  }
  // A loader error surfaces at its batch; destroying early joins the workers.
  Prefetcher<int> p(
      frozen,
      [](const Batch& b) -> int {
        if (b.front() == -1) return 0;
        throw std::runtime_error("bad batch");
      },
      2, 2);
  CHECK_THROWS_WITH(p.next(), "bad batch");
}

TEST_CASE("epoch iterator: sync groups shuffle consecutive batches as units",
          "[unit][batching][iterator][epoch_iterator]") {
  Batches frozen = make_batches();
  const size_t n = frozen.size();
  REQUIRE(n % 3 != 0);  // a partial last group is covered
  REQUIRE(n % 4 != 0);
  auto position = [&](const Batch& b) {
    return static_cast<size_t>(std::find(frozen.begin(), frozen.end(), b) - frozen.begin());
  };
  for (int64_t group : {2, 3, 4}) {
    EpochIteratorOptions o;
    o.seed = 5;
    o.sync_group = {group};
    EpochBatchIterator it(frozen, o);
    Batches e1 = it.epoch_batches(1, true);
    REQUIRE(e1.size() == n);
    // Cut the epoch where the frozen group index changes: every group is whole, in order,
    // and appears once.
    const size_t G = static_cast<size_t>(group);
    std::vector<size_t> got_order;
    size_t i = 0;
    while (i < n) {
      const size_t g = position(e1[i]) / G;
      got_order.push_back(g);
      const size_t len = std::min(G, n - g * G);
      for (size_t j = 0; j < len; ++j) {
        REQUIRE(i + j < n);
        CHECK(position(e1[i + j]) == g * G + j);
      }
      i += len;
    }
    CHECK(got_order.size() == (n + G - 1) / G);
    CHECK(std::set<size_t>(got_order.begin(), got_order.end()).size() == got_order.size());
    // Deterministic: the same seed and epoch give the same order; the groups are shuffled
    // with numpy's RandomState(seed + epoch) over the list of groups.
    EpochBatchIterator again(frozen, o);
    CHECK(again.epoch_batches(1, true) == e1);
    CHECK(it.epoch_batches(2, true) != e1);
    // The full groups are shuffled; a shorter last group stays last (in the middle it would
    // shift later groups off the group boundaries).
    std::vector<size_t> order(n / G);
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    NumpyRandomState rng(5 + 1);
    rng.shuffle(order);
    if (n % G != 0) order.push_back(n / G);
    CHECK(got_order == order);
    for (size_t k = 0; k < n; ++k) CHECK(position(e1[k]) % G == k % G);
    CHECK(!std::is_sorted(got_order.begin(), got_order.end()));
    // No shuffle (validation, curriculum) keeps the frozen order.
    CHECK(it.epoch_batches(1, false) == frozen);
  }
  // A group of 1 is exactly fairseq's order.
  EpochIteratorOptions plain, one;
  plain.seed = one.seed = 9;
  one.sync_group = {1};
  for (int64_t epoch : {1, 2, 3})
    CHECK(EpochBatchIterator(frozen, one).epoch_batches(epoch, true) ==
          EpochBatchIterator(frozen, plain).epoch_batches(epoch, true));
  CHECK(EpochBatchIterator::shuffle_groups(frozen, 1, 7) ==
        EpochBatchIterator::shuffle_batches(frozen, 7));
  // Per-epoch groups (--update-freq 1,2 with 2 processes): the last value repeats.
  EpochIteratorOptions per_epoch;
  per_epoch.seed = 5;
  per_epoch.sync_group = {2, 4};
  CHECK(per_epoch.sync_group_for(1) == 2);
  CHECK(per_epoch.sync_group_for(7) == 4);
  CHECK(EpochBatchIterator(frozen, per_epoch).epoch_batches(3, true) ==
        EpochBatchIterator::shuffle_groups(frozen, 4, 5 + 3));
  EpochIteratorOptions bad;
  bad.sync_group = {0};
  CHECK_THROWS_WITH(EpochBatchIterator(frozen, bad), Catch::Contains("sync group"));
}

TEST_CASE("epoch iterator: with sync groups 1 process x update-freq 2 sees the updates of 2 "
          "processes x update-freq 1",
          "[unit][batching][iterator][epoch_iterator]") {
  Batches frozen = make_batches();
  for (int64_t epoch : {1, 2}) {
    EpochIteratorOptions one;
    one.seed = 3;
    one.sync_group = {2};
    Batches single = EpochBatchIterator(frozen, one).epoch_batches(epoch, true);
    Batches ranks[2];
    for (int64_t r = 0; r < 2; ++r) {
      EpochIteratorOptions o = one;
      o.num_shards = 2;
      o.shard_id = r;
      ranks[r] = EpochBatchIterator(frozen, o).epoch_batches(epoch, true);
    }
    // Update u: the single process takes micro-batches 2u and 2u+1, rank r its u-th batch.
    for (size_t u = 0; u < ranks[0].size(); ++u) {
      CHECK(ranks[0][u] == single[2 * u]);
      CHECK(ranks[1][u] == (2 * u + 1 < single.size() ? single[2 * u + 1] : Batch{}));
    }
    // The two ranks' batches of each update are neighbours in the frozen (length) order.
    auto position = [&](const Batch& b) {
      return std::find(frozen.begin(), frozen.end(), b) - frozen.begin();
    };
    for (size_t u = 0; u < ranks[0].size(); ++u) {
      if (ranks[1][u].empty()) continue;
      const auto p0 = position(ranks[0][u]);
      CHECK(p0 % 2 == 0);
      CHECK(position(ranks[1][u]) == p0 + 1);
    }
  }
  // 2 ranks x update-freq 2 (group 4): each update's 4 micro-batches form one group.
  for (int64_t r = 0; r < 2; ++r) {
    EpochIteratorOptions o;
    o.seed = 3;
    o.num_shards = 2;
    o.shard_id = r;
    o.sync_group = {4};
    Batches mine = EpochBatchIterator(frozen, o).epoch_batches(1, true);
    auto position = [&](const Batch& b) {
      return std::find(frozen.begin(), frozen.end(), b) - frozen.begin();
    };
    for (size_t u = 0; 2 * u + 1 < mine.size(); ++u) {
      if (mine[2 * u + 1].empty()) continue;
      const auto a = position(mine[2 * u]), b = position(mine[2 * u + 1]);
      CHECK(a / 4 == b / 4);
      CHECK(a % 4 == static_cast<std::ptrdiff_t>(r));
      CHECK(b == a + 2);
    }
  }
}

TEST_CASE("epoch iterator: sync groups resume mid-epoch on the same batches",
          "[unit][batching][iterator][epoch_iterator]") {
  Batches frozen = make_batches();
  for (int64_t rank : {0, 1}) {
    EpochIteratorOptions o;
    o.seed = 11;
    o.num_shards = 2;
    o.shard_id = rank;
    o.sync_group = {2, 4};
    EpochBatchIterator it(frozen, o);
    CHECK(it.next_epoch() == 1);
    drain(it);
    CHECK(it.next_epoch() == 2);
    for (int i = 0; i < 6; ++i) it.next();
    IteratorState s = it.state();
    CHECK(s.epoch == 2);
    CHECK(s.iterations_in_epoch == 6);
    Batches rest = drain(it);

    EpochBatchIterator resumed(frozen, o);
    resumed.load_state(s);
    CHECK(resumed.next_epoch() == 2);
    CHECK(resumed.iterations_in_epoch() == 6);
    CHECK(drain(resumed) == rest);
    CHECK(resumed.next_epoch() == 3);
    CHECK(resumed.remaining() == it.epoch_batches(3, true));
  }
}
