#include "core/data/epoch_iterator.h"

#include <cstddef>
#include <iterator>

#include "core/data/numpy_random.h"

namespace trellis {

EpochBatchIterator::EpochBatchIterator(Batches frozen, EpochIteratorOptions options)
    : EpochBatchIterator([b = std::move(frozen)](int64_t) { return b; }, options) {}

EpochBatchIterator::EpochBatchIterator(std::function<Batches(int64_t)> batches_for_epoch,
                                       EpochIteratorOptions options)
    : batches_for_epoch_(std::move(batches_for_epoch)), options_(options) {
  TRELLIS_CHECK(
      options_.num_shards >= 1 && options_.shard_id >= 0 && options_.shard_id < options_.num_shards,
      Error, "invalid shard {} of {}", options_.shard_id, options_.num_shards);
  for (int64_t g : options_.sync_group)
    TRELLIS_CHECK(g >= 1, Error, "invalid sync group {} (must be >= 1)", g);
  epoch_ = std::max<int64_t>(options_.epoch, 1);
  current_shuffle_ = pending_shuffle_ = options_.shuffle;
}

Batches EpochBatchIterator::shuffle_batches(Batches batches, uint32_t seed) {
  NumpyRandomState rng(seed);
  rng.shuffle(batches);
  return batches;
}

Batches EpochBatchIterator::shuffle_groups(Batches batches, int64_t group, uint32_t seed) {
  if (group <= 1 || batches.empty()) return shuffle_batches(std::move(batches), seed);
  std::vector<Batches> groups;
  for (auto it = batches.begin(); it != batches.end();) {
    const auto end = it + std::min<std::ptrdiff_t>(group, batches.end() - it);
    groups.emplace_back(std::make_move_iterator(it), std::make_move_iterator(end));
    it = end;
  }
  // A shorter last group stays last: in the middle it would shift every later group off the
  // W x update_freq boundaries, pairing batches of two groups in one update.
  std::optional<Batches> tail;
  if (groups.back().size() < static_cast<size_t>(group)) {
    tail = std::move(groups.back());
    groups.pop_back();
  }
  NumpyRandomState rng(seed);
  rng.shuffle(groups);
  if (tail) groups.push_back(std::move(*tail));
  Batches out;
  out.reserve(batches.size());
  for (auto& g : groups)
    for (auto& b : g) out.push_back(std::move(b));
  return out;
}

Batches EpochBatchIterator::shard(const Batches& batches, int64_t num_shards, int64_t shard_id) {
  const int64_t n = static_cast<int64_t>(batches.size());
  const int64_t per_shard = (n + num_shards - 1) / num_shards;  // ceil(B / W)
  Batches out;
  for (int64_t k = 0; k < per_shard; ++k) {
    int64_t i = shard_id + k * num_shards;
    out.push_back(i < n ? batches[static_cast<size_t>(i)] : Batch{});
  }
  return out;
}

Batches EpochBatchIterator::epoch_batches(int64_t epoch, bool shuffle) const {
  Batches b = batches_for_epoch_(epoch);
  if (shuffle_for(epoch, shuffle))
    b = shuffle_groups(std::move(b), options_.sync_group_for(epoch),
                       static_cast<uint32_t>(options_.seed + epoch));
  return shard(b, options_.num_shards, options_.shard_id);
}

int64_t EpochBatchIterator::next_epoch_idx() const {
  if (pending_) return epoch_;
  if (started_ && !has_next()) return epoch_ + 1;
  return epoch_;
}

int64_t EpochBatchIterator::next_epoch() {
  epoch_ = next_epoch_idx();
  if (pending_) {
    current_shuffle_ = pending_shuffle_;
    current_ = epoch_batches(epoch_, current_shuffle_);
    pos_ = pending_offset_;
    pending_ = false;
    pending_offset_ = 0;
  } else {
    current_shuffle_ = options_.shuffle;
    current_ = epoch_batches(epoch_, current_shuffle_);
    pos_ = 0;
  }
  started_ = true;
  return epoch_;
}

const Batch& EpochBatchIterator::next() {
  TRELLIS_CHECK(started_ && has_next(), Error, "epoch iterator exhausted (epoch {}, {} batches)",
                epoch_, current_.size());
  return current_[static_cast<size_t>(pos_++)];
}

IteratorState EpochBatchIterator::state() const {
  IteratorState s;
  s.shuffle = started_ ? current_shuffle_ : pending_shuffle_;
  if (end_of_epoch()) {
    s.epoch = epoch_ + 1;
    s.iterations_in_epoch = 0;
  } else {
    s.epoch = epoch_;
    s.iterations_in_epoch = iterations_in_epoch();
  }
  return s;
}

void EpochBatchIterator::load_state(const IteratorState& s) {
  TRELLIS_CHECK(s.epoch >= 1 && s.iterations_in_epoch >= 0, Error,
                "invalid iterator state (epoch {}, iterations_in_epoch {})", s.epoch,
                s.iterations_in_epoch);
  epoch_ = s.epoch;
  started_ = false;
  current_.clear();
  pos_ = 0;
  pending_shuffle_ = s.shuffle;
  pending_offset_ = s.iterations_in_epoch;
  pending_ = s.iterations_in_epoch > 0;
  if (pending_) {
    int64_t n = static_cast<int64_t>(epoch_batches(epoch_, s.shuffle).size());
    TRELLIS_CHECK(s.iterations_in_epoch < n, Error,
                  "cannot resume: the saved iterator is at batch {} of epoch {}, which now has "
                  "only {} batches (the batches changed: --max-tokens, --batch-size or the number "
                  "of GPUs); relaunch with --reset-dataloader",
                  s.iterations_in_epoch, s.epoch, n);
  }
}

}  // namespace trellis
