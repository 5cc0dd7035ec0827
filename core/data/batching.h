#pragma once
// Ordering, size filtering and fairseq's token-bucket batching (docs/tasks.md, "Ordering, size
// filtering and batching"; docs/data_formats.md, "Batching and iteration"). Pure functions on
// vectors of per-sample sizes; a sample is its index 0..N-1.
//
// FBK (the seed): order = numpy's default argsort of n_frames (ascending, introsort: ties are
// NOT in index order), num_tokens(i) = max(n_frames, n_tgt_tokens), greedy batching:
//   a batch closes before sample i when len == max_sentences or (len+1) * max_len > max_tokens;
//   it then emits m = max(mult * (len / mult), len % mult) samples and carries the rest forward.
// Upstream fairseq: single split ordered by descending n_frames (ties by index), batching by
// batch_by_size_vec, then the last batch is dropped when its size is not a multiple of mult.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trellis {

using Batch = std::vector<int64_t>;  // sample indices
using Batches = std::vector<Batch>;

// numpy.argsort(keys) with numpy's default kind (int64 introsort, numpy 1.24): bit-exact tie
// order.
std::vector<int64_t> numpy_argsort(const std::vector<int64_t>& keys);
// Stable argsort, ascending or descending (ties by index).
std::vector<int64_t> stable_argsort(const std::vector<int64_t>& keys, bool descending = false);

enum class BatchingStyle {
  kFbk,       // FBK-fairseq (seed commands): numpy argsort ascending, greedy batching
  kUpstream,  // facebookresearch/fairseq: descending stable order, vec batching + drop
};
BatchingStyle parse_batching_style(const std::string& name);  // "fbk" | "fairseq"

// Order of the samples of `num_splits` concatenated TSVs. FBK: numpy_argsort ascending (always
// a concatenation); upstream: one split -> stable descending, several -> numpy_argsort ascending.
std::vector<int64_t> ordered_indices(const std::vector<int64_t>& n_frames, BatchingStyle style,
                                     int64_t num_splits = 1);

// Upstream fairseq's order of one training manifest under the data config's `shuffle: true`:
// n_frames descending, ties in the order of numpy.random.RandomState(seed).permutation(N)
// (np.lexsort([permutation, -n_frames]) under data_utils.numpy_seed(seed)).
std::vector<int64_t> shuffled_tie_order(const std::vector<int64_t>& n_frames, uint32_t seed);

// Keeps, in order, the samples with src <= max_source and tgt <= max_target (a limit <= 0 is
// no limit; tgt_sizes may be empty). An invalid sample throws DataError naming its id (ids may
// be empty -> index) and sizes unless skip_invalid; skipped ones go to *dropped.
std::vector<int64_t> filter_by_size(const std::vector<int64_t>& ordered,
                                    const std::vector<int64_t>& src_sizes,
                                    const std::vector<int64_t>& tgt_sizes, int64_t max_source,
                                    int64_t max_target, bool skip_invalid,
                                    std::vector<int64_t>* dropped = nullptr,
                                    const std::vector<std::string>& ids = {});

struct BatchingOptions {
  int64_t max_tokens = 0;  // padded source frames per batch: n * max_len <= max_tokens
  int64_t batch_size = 0;  // max sentences per batch
  int64_t required_batch_size_multiple = 8;
  BatchingStyle style = BatchingStyle::kFbk;
  // Upstream style, one training manifest, the data config's `shuffle: true`: ties of the
  // order broken by shuffled_tie_order(n_frames, seed) (batch_speech_dataset reads it).
  std::optional<uint32_t> tie_shuffle_seed;
};

// Batches `indices` (already ordered and filtered); num_tokens is indexed by sample. Throws
// DataError when neither limit is set or a sample alone exceeds max_tokens.
Batches batch_by_size(const std::vector<int64_t>& indices, const std::vector<int64_t>& num_tokens,
                      const BatchingOptions& options);
// The two algorithms, without upstream's final drop.
Batches batch_by_size_greedy(const std::vector<int64_t>& indices,
                             const std::vector<int64_t>& num_tokens, int64_t max_tokens,
                             int64_t max_sentences, int64_t mult);
Batches batch_by_size_vec(const std::vector<int64_t>& indices,
                          const std::vector<int64_t>& num_tokens, int64_t max_tokens,
                          int64_t max_sentences, int64_t mult);

// --num-buckets: bucket upper bounds = unique(percentile(sizes, linspace(0,100,k+1), 'lower')[1:]);
// a size maps to the smallest bound >= it (fairseq get_buckets / get_bucketed_sizes).
std::vector<int64_t> get_buckets(const std::vector<int64_t>& sizes, int64_t num_buckets);
std::vector<int64_t> bucketed_sizes(const std::vector<int64_t>& sizes,
                                    const std::vector<int64_t>& buckets);

// 1 - Σ real / Σ (len(batch) * max_len(batch)): the share of padded frames.
double padding_fraction(const Batches& batches, const std::vector<int64_t>& sizes);

}  // namespace trellis
