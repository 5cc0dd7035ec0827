#include "core/data/batching.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/data/numpy_random.h"
#include "core/error.h"

namespace trellis {

namespace {

// numpy/core/src/npysort/heapsort.cpp aheapsort_ (1-based heap over tosort).
void numpy_aheapsort(const int64_t* v, int64_t* tosort, int64_t n) {
  int64_t* a = tosort - 1;
  int64_t i, j, l, tmp;
  for (l = n >> 1; l > 0; --l) {
    tmp = a[l];
    for (i = l, j = l << 1; j <= n;) {
      if (j < n && v[a[j]] < v[a[j + 1]]) j += 1;
      if (v[tmp] < v[a[j]]) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
  for (; n > 1;) {
    tmp = a[n];
    a[n] = a[1];
    n -= 1;
    for (i = 1, j = 2; j <= n;) {
      if (j < n && v[a[j]] < v[a[j + 1]]) j++;
      if (v[tmp] < v[a[j]]) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
}

int msb(uint64_t n) {
  int depth = 0;
  while (n >>= 1) depth++;
  return depth;
}

}  // namespace

// numpy/core/src/npysort/quicksort.cpp aquicksort_ (numpy 1.24, no SIMD path for argsort):
// median-of-3 quicksort, insertion sort below 16 elements, heapsort past depth 2*log2(n).
std::vector<int64_t> numpy_argsort(const std::vector<int64_t>& keys) {
  const int64_t num = static_cast<int64_t>(keys.size());
  std::vector<int64_t> idx(keys.size());
  std::iota(idx.begin(), idx.end(), 0);
  if (num < 2) return idx;
  constexpr int64_t kSmallQuicksort = 15;
  const int64_t* v = keys.data();
  int64_t* pl = idx.data();
  int64_t* pr = pl + num - 1;
  std::vector<int64_t*> stack;
  std::vector<int> depth;
  int cdepth = msb(static_cast<uint64_t>(num)) * 2;
  int64_t *pm, *pi, *pj, *pk, vi, vp;
  for (;;) {
    if (cdepth < 0) {
      numpy_aheapsort(v, pl, pr - pl + 1);
      goto stack_pop;
    }
    while ((pr - pl) > kSmallQuicksort) {
      pm = pl + ((pr - pl) >> 1);
      if (v[*pm] < v[*pl]) std::swap(*pm, *pl);
      if (v[*pr] < v[*pm]) std::swap(*pr, *pm);
      if (v[*pm] < v[*pl]) std::swap(*pm, *pl);
      vp = v[*pm];
      pi = pl;
      pj = pr - 1;
      std::swap(*pm, *pj);
      for (;;) {
        do ++pi;
        while (v[*pi] < vp);
        do --pj;
        while (vp < v[*pj]);
        if (pi >= pj) break;
        std::swap(*pi, *pj);
      }
      pk = pr - 1;
      std::swap(*pi, *pk);
      // push the larger partition on the stack
      if (pi - pl < pr - pi) {
        stack.push_back(pi + 1);
        stack.push_back(pr);
        pr = pi - 1;
      } else {
        stack.push_back(pl);
        stack.push_back(pi - 1);
        pl = pi + 1;
      }
      depth.push_back(--cdepth);
    }
    // insertion sort
    for (pi = pl + 1; pi <= pr; ++pi) {
      vi = *pi;
      vp = v[vi];
      pj = pi;
      pk = pi - 1;
      while (pj > pl && vp < v[*pk]) *pj-- = *pk--;
      *pj = vi;
    }
  stack_pop:
    if (stack.empty()) break;
    pr = stack.back();
    stack.pop_back();
    pl = stack.back();
    stack.pop_back();
    cdepth = depth.back();
    depth.pop_back();
  }
  return idx;
}

std::vector<int64_t> stable_argsort(const std::vector<int64_t>& keys, bool descending) {
  std::vector<int64_t> idx(keys.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return descending ? keys[a] > keys[b] : keys[a] < keys[b];
  });
  return idx;
}

BatchingStyle parse_batching_style(const std::string& name) {
  if (name == "fbk") return BatchingStyle::kFbk;
  if (name == "fairseq" || name == "upstream") return BatchingStyle::kUpstream;
  throw ConfigError(fmt::format("unknown batching style '{}' (fbk, fairseq)", name));
}

std::vector<int64_t> ordered_indices(const std::vector<int64_t>& n_frames, BatchingStyle style,
                                     int64_t num_splits) {
  if (style == BatchingStyle::kUpstream && num_splits <= 1) return stable_argsort(n_frames, true);
  return numpy_argsort(n_frames);
}

std::vector<int64_t> shuffled_tie_order(const std::vector<int64_t>& n_frames, uint32_t seed) {
  std::vector<int64_t> rank(n_frames.size());  // the tie key: a permutation's value per sample
  for (size_t i = 0; i < rank.size(); ++i) rank[i] = static_cast<int64_t>(i);
  NumpyRandomState(seed).shuffle(rank);
  std::vector<int64_t> order = rank;  // any permutation of 0..N-1, sorted below
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const auto ua = static_cast<size_t>(a), ub = static_cast<size_t>(b);
    return n_frames[ua] != n_frames[ub] ? n_frames[ua] > n_frames[ub] : rank[ua] < rank[ub];
  });
  return order;
}

std::vector<int64_t> filter_by_size(const std::vector<int64_t>& ordered,
                                    const std::vector<int64_t>& src_sizes,
                                    const std::vector<int64_t>& tgt_sizes, int64_t max_source,
                                    int64_t max_target, bool skip_invalid,
                                    std::vector<int64_t>* dropped,
                                    const std::vector<std::string>& ids) {
  std::vector<int64_t> kept;
  kept.reserve(ordered.size());
  for (int64_t i : ordered) {
    int64_t src = src_sizes.at(static_cast<size_t>(i));
    int64_t tgt = tgt_sizes.empty() ? 0 : tgt_sizes.at(static_cast<size_t>(i));
    bool ok = (max_source <= 0 || src <= max_source) && (max_target <= 0 || tgt <= max_target);
    if (ok) {
      kept.push_back(i);
      continue;
    }
    TRELLIS_CHECK(skip_invalid, DataError,
                  "size of sample #{}{} is invalid (source {} frames, target {} tokens; max "
                  "positions ({}, {})): raise --max-source-positions / --max-target-positions (raw "
                  "audio counts samples) or skip such examples with "
                  "--skip-invalid-size-inputs-valid-test",
                  i, ids.empty() ? "" : " ('" + ids.at(static_cast<size_t>(i)) + "')", src, tgt,
                  max_source, max_target);
    if (dropped) dropped->push_back(i);
  }
  return kept;
}

Batches batch_by_size_greedy(const std::vector<int64_t>& indices,
                             const std::vector<int64_t>& num_tokens, int64_t max_tokens,
                             int64_t max_sentences, int64_t mult) {
  Batches out;
  Batch batch;
  std::vector<int64_t> lens;
  int64_t max_len = 0;
  for (int64_t idx : indices) {
    int64_t n = num_tokens.at(static_cast<size_t>(idx));
    lens.push_back(n);
    max_len = std::max(max_len, n);
    TRELLIS_CHECK(max_tokens <= 0 || max_len <= max_tokens, DataError,
                  "sample #{} of size {} exceeds --max-tokens {}", idx, n, max_tokens);
    int64_t len = static_cast<int64_t>(batch.size());
    if (len > 0 && ((max_sentences > 0 && len == max_sentences) ||
                    (max_tokens > 0 && (len + 1) * max_len > max_tokens))) {
      int64_t m = std::max(mult * (len / mult), len % mult);
      out.emplace_back(batch.begin(), batch.begin() + m);
      batch.erase(batch.begin(), batch.begin() + m);
      lens.erase(lens.begin(), lens.begin() + m);
      max_len = lens.empty() ? 0 : *std::max_element(lens.begin(), lens.end());
    }
    batch.push_back(idx);
  }
  if (!batch.empty()) out.push_back(batch);
  return out;
}

// fairseq data_utils_fast.pyx batch_by_size_vec: grows a batch while (batch + tail) is valid,
// appending the tail whenever the size is < mult or a multiple of mult.
Batches batch_by_size_vec(const std::vector<int64_t>& indices,
                          const std::vector<int64_t>& num_tokens, int64_t max_tokens,
                          int64_t max_sentences, int64_t mult) {
  const int64_t n = static_cast<int64_t>(indices.size());
  if (n == 0) return {};
  std::vector<int64_t> tok(indices.size());
  for (int64_t p = 0; p < n; ++p) {
    tok[p] = num_tokens.at(static_cast<size_t>(indices[p]));
    TRELLIS_CHECK(max_tokens <= 0 || tok[p] <= max_tokens, DataError,
                  "sample #{} of size {} exceeds --max-tokens {}", indices[p], tok[p], max_tokens);
  }
  std::vector<int64_t> ends(indices.size() + 1, 0);
  int64_t count = 0, batch_start = 0, tail_max = 0, batch_max = 0;
  for (int64_t pos = 0; pos < n; ++pos) {
    tail_max = std::max(tail_max, tok[pos]);
    int64_t new_end = pos + 1;
    int64_t new_max = std::max(batch_max, tail_max);
    int64_t new_sentences = new_end - batch_start;
    int64_t new_tokens = new_sentences * new_max;
    bool overflow = (max_sentences > 0 && new_sentences > max_sentences) ||
                    (max_tokens > 0 && new_tokens > max_tokens);
    bool matches_mult = new_sentences < mult || new_sentences % mult == 0;
    if (overflow) {
      int64_t tail_tokens = tail_max * (new_end - ends[count]);
      if (max_tokens > 0 && tail_tokens > max_tokens) {
        ends[++count] = pos;
        tail_max = tok[pos];
      }
      batch_start = ends[count];
      count += 1;
      new_max = tail_max;
    }
    if (overflow || matches_mult) {
      ends[count] = new_end;
      batch_max = new_max;
      tail_max = 0;
    }
  }
  if (ends[count] != n) count += 1;
  // np.split(indices, ends[:count]): sections [0, e0), [e0, e1), ..., [e_{count-1}, n).
  Batches out;
  int64_t start = 0;
  for (int64_t k = 0; k <= count; ++k) {
    int64_t end = k < count ? ends[k] : n;
    out.emplace_back(indices.begin() + start, indices.begin() + std::max(start, end));
    start = std::max(start, end);
  }
  return out;
}

Batches batch_by_size(const std::vector<int64_t>& indices, const std::vector<int64_t>& num_tokens,
                      const BatchingOptions& o) {
  TRELLIS_CHECK(o.max_tokens > 0 || o.batch_size > 0, ConfigError,
                "either --max-tokens or --batch-size must be given");
  TRELLIS_CHECK(o.required_batch_size_multiple >= 1, ConfigError,
                "--required-batch-size-multiple must be >= 1");
  const int64_t mult = o.required_batch_size_multiple;
  if (o.style == BatchingStyle::kFbk)
    return batch_by_size_greedy(indices, num_tokens, o.max_tokens, o.batch_size, mult);
  Batches b = batch_by_size_vec(indices, num_tokens, o.max_tokens, o.batch_size, mult);
  if (mult > 1 && !b.empty() && static_cast<int64_t>(b.back().size()) % mult != 0) b.pop_back();
  return b;
}

std::vector<int64_t> get_buckets(const std::vector<int64_t>& sizes, int64_t num_buckets) {
  TRELLIS_CHECK(num_buckets > 0, ConfigError, "--num-buckets must be > 0");
  if (sizes.empty()) return {};
  std::vector<int64_t> sorted = sizes;
  std::sort(sorted.begin(), sorted.end());
  const double n1 = static_cast<double>(sorted.size() - 1);
  const double step = 100.0 / static_cast<double>(num_buckets);
  std::vector<int64_t> out;
  for (int64_t k = 1; k <= num_buckets; ++k) {
    double q = (k == num_buckets ? 100.0 : step * static_cast<double>(k)) / 100.0;
    auto pos = static_cast<size_t>(std::floor(n1 * q));
    out.push_back(sorted[std::min(pos, sorted.size() - 1)]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int64_t> bucketed_sizes(const std::vector<int64_t>& sizes,
                                    const std::vector<int64_t>& buckets) {
  std::vector<int64_t> out = sizes;
  for (auto& s : out) {
    auto it = std::lower_bound(buckets.begin(), buckets.end(), s);
    if (it != buckets.end()) s = *it;
  }
  return out;
}

double padding_fraction(const Batches& batches, const std::vector<int64_t>& sizes) {
  double real = 0, padded = 0;
  for (const auto& b : batches) {
    int64_t mx = 0;
    for (int64_t i : b) {
      real += static_cast<double>(sizes.at(static_cast<size_t>(i)));
      mx = std::max(mx, sizes.at(static_cast<size_t>(i)));
    }
    padded += static_cast<double>(mx) * static_cast<double>(b.size());
  }
  return padded > 0 ? 1.0 - real / padded : 0.0;
}

}  // namespace trellis
