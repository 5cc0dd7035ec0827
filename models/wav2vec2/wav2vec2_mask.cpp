#include "models/wav2vec2/wav2vec2_mask.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

namespace trellis {

namespace {

// `count` distinct values of [0, range), uniformly (partial Fisher-Yates).
std::vector<int64_t> choose_distinct(int64_t range, int64_t count, std::mt19937_64& rng) {
  std::vector<int64_t> pool(static_cast<size_t>(range));
  std::iota(pool.begin(), pool.end(), 0);
  count = std::min(count, range);
  for (int64_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, range - 1);
    std::swap(pool[static_cast<size_t>(i)], pool[static_cast<size_t>(pick(rng))]);
  }
  pool.resize(static_cast<size_t>(count));
  return pool;
}

}  // namespace

std::vector<std::vector<bool>> compute_mask_indices(const std::vector<int64_t>& valid_lengths,
                                                    int64_t width, const MaskSpans& spans,
                                                    std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t sz : valid_lengths) {
    sz = std::min(sz, width);
    std::vector<int64_t> idx;
    const double u = unit(rng);
    if (sz > 1 && spans.prob > 0) {
      int64_t num = static_cast<int64_t>(
          spans.prob * static_cast<double>(sz) / static_cast<double>(spans.length) + u);
      num = std::max(spans.min_masks, num);
      if (num > 0) {
        int64_t range = sz - spans.length;  // span starts
        if (range <= num) range = num + 1;
        std::set<int64_t> covered;
        for (int64_t start : choose_distinct(range, num, rng))
          for (int64_t k = 0; k < spans.length; ++k)
            if (start + k < sz) covered.insert(start + k);
        idx.assign(covered.begin(), covered.end());
      }
    }
    rows.push_back(std::move(idx));
  }
  size_t fewest = std::numeric_limits<size_t>::max();
  for (const auto& r : rows) fewest = std::min(fewest, r.size());
  std::vector<std::vector<bool>> mask(rows.size(), std::vector<bool>(static_cast<size_t>(width)));
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<int64_t> idx = rows[b];
    if (spans.same_count && idx.size() > fewest) {
      std::vector<int64_t> keep;
      for (int64_t j :
           choose_distinct(static_cast<int64_t>(idx.size()), static_cast<int64_t>(fewest), rng))
        keep.push_back(idx[static_cast<size_t>(j)]);
      idx = keep;
    }
    for (int64_t i : idx) mask[b][static_cast<size_t>(i)] = true;
  }
  return mask;
}

}  // namespace trellis
