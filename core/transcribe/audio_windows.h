#pragma once
// Long audio for transcribe: cut into overlapping windows, decoded one by one, stitched by
// word times (docs/generate.md, "transcribe"). Window k covers samples [s_k, s_k + W) with
// s_k = k (W - O); the last one ends at the end of the audio (and is longer than O). Window k
// keeps the words whose middle lies in its own range, from the middle of its overlap with
// window k - 1 to the middle of its overlap with window k + 1 (0 and the end at the edges), so
// each word of an overlap is taken from the window where it lies farther from the edge.

#include <cstdint>
#include <utility>
#include <vector>

#include "trellis/transcriber.h"

namespace trellis {

struct AudioWindow {
  int64_t start = 0;  // first sample
  int64_t end = 0;    // one past the last sample
};

// n samples, windows of w samples overlapping by o (0 <= o < w / 2; w > 0). n <= w: one window.
std::vector<AudioWindow> plan_windows(int64_t n, int64_t w, int64_t o);

// The samples [first, last) whose words window k keeps.
std::pair<int64_t, int64_t> owned_range(const std::vector<AudioWindow>& windows, size_t k);

// words[k]: window k's words with times in seconds from the start of the audio -> the words of
// the whole audio, in order. rate: samples per second.
std::vector<Word> stitch_words(const std::vector<AudioWindow>& windows,
                               const std::vector<std::vector<Word>>& words, int rate);

}  // namespace trellis
