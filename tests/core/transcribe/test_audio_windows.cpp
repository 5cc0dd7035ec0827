// transcribe's windows (core/transcribe/audio_windows.h): cover the audio, overlap as asked,
// own disjoint ranges that tile it, and stitching keeps each word of an overlap once.
#include <catch2/catch.hpp>

#include "core/transcribe/audio_windows.h"

using trellis::AudioWindow;

TEST_CASE("plan_windows: cover, overlap, own ranges tile the audio", "[unit][transcribe]") {
  CHECK(trellis::plan_windows(100, 300, 20).size() == 1);
  CHECK(trellis::plan_windows(300, 300, 20).size() == 1);
  for (int64_t n : {301, 580, 581, 1000, 12345}) {
    const auto w = trellis::plan_windows(n, 300, 20);
    REQUIRE(w.size() > 1);
    CHECK(w.front().start == 0);
    CHECK(w.back().end == n);
    int64_t next = 0;
    for (size_t k = 0; k < w.size(); ++k) {
      CHECK(w[k].end - w[k].start <= 300);
      CHECK(w[k].end - w[k].start > 20);
      if (k > 0) CHECK(w[k - 1].end - w[k].start == 20);
      const auto [first, last] = trellis::owned_range(w, k);
      CHECK(first == next);
      CHECK(first >= w[k].start);
      CHECK(last <= w[k].end);
      next = last;
    }
    CHECK(next == n);
  }
  CHECK_THROWS(trellis::plan_windows(100, 10, 5));  // overlap must be < window / 2
}

TEST_CASE("stitch_words: each word of an overlap is kept once", "[unit][transcribe]") {
  // 1 sample per second for readability: windows [0, 10) and [8, 15), own ranges [0, 9) and
  // [9, 15).
  const auto w = trellis::plan_windows(15, 10, 2);
  REQUIRE(w.size() == 2);
  const std::vector<std::vector<trellis::Word>> words{
      {{"a", 1, 2}, {"b", 7.5, 8.4}, {"c", 8.8, 9.6}},  // c: middle 9.2 belongs to window 1
      {{"b", 8.0, 8.5}, {"c", 8.9, 9.5}, {"d", 12, 13}}};
  const auto s = trellis::stitch_words(w, words, 1);
  REQUIRE(s.size() == 4);
  CHECK(s[0].word == "a");
  CHECK(s[1].word == "b");
  CHECK(s[1].start == 7.5);  // from window 0
  CHECK(s[2].word == "c");
  CHECK(s[2].start == 8.9);  // from window 1
  CHECK(s[3].word == "d");
}
