#include "core/transcribe/audio_windows.h"

#include <algorithm>

#include "core/error.h"

namespace trellis {

std::vector<AudioWindow> plan_windows(int64_t n, int64_t w, int64_t o) {
  TRELLIS_CHECK(w > 0 && o >= 0 && 2 * o < w, ConfigError,
                "windows of {} samples cannot overlap by {} (need 0 <= overlap < window / 2)", w,
                o);
  std::vector<AudioWindow> out;
  int64_t s = 0;
  while (s + w < n) {
    out.push_back({s, s + w});
    s += w - o;
  }
  out.push_back({s, std::max<int64_t>(n, s)});
  return out;
}

std::pair<int64_t, int64_t> owned_range(const std::vector<AudioWindow>& windows, size_t k) {
  TRELLIS_CHECK(k < windows.size(), Error, "owned_range: window {} of {}", k, windows.size());
  const int64_t first = k == 0 ? 0 : (windows[k].start + windows[k - 1].end) / 2;
  const int64_t last =
      k + 1 == windows.size() ? windows[k].end : (windows[k + 1].start + windows[k].end) / 2;
  return {first, last};
}

std::vector<Word> stitch_words(const std::vector<AudioWindow>& windows,
                               const std::vector<std::vector<Word>>& words, int rate) {
  TRELLIS_CHECK(words.size() == windows.size(), Error, "stitch_words: {} windows, {} word lists",
                windows.size(), words.size());
  std::vector<Word> out;
  for (size_t k = 0; k < windows.size(); ++k) {
    const auto [first, last] = owned_range(windows, k);
    for (const Word& w : words[k]) {
      const double middle = 0.5 * (w.start + w.end) * rate;
      const bool mine = middle >= static_cast<double>(first) &&
                        (middle < static_cast<double>(last) || k + 1 == windows.size());
      if (mine) out.push_back(w);
    }
  }
  return out;
}

}  // namespace trellis
