#pragma once
// fairseq's EpochBatchIterator over a frozen batch list (docs/data_formats.md), and a
// prefetcher whose output order does not depend on its worker count.
//
// Epochs are 1-based. Epoch e: batches = frozen list shuffled as whole batches with
// numpy.random.RandomState(seed + e).shuffle (no shuffle when shuffle is off or
// e <= curriculum); rank r of W takes batches r, r+W, ... and every rank gets ceil(B/W)
// entries, missing ones being empty batches (the trainer runs them as a zero-weighted dummy).
// With a sync group G > 1 (--sync-buckets, G = W * update_freq) the frozen list is cut into
// consecutive groups of G batches and the shuffle moves whole groups (a shorter last group
// stays last): each update's micro-batches on all ranks are neighbours in the length-sorted list.
// state() = {version 2, epoch, iterations_in_epoch, shuffle}; a finished epoch saves
// {epoch+1, 0}. load_state() rebuilds the epoch and fast-forwards.

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/data/batching.h"
#include "core/error.h"

namespace trellis {

struct IteratorState {
  int64_t version = 2;
  int64_t epoch = 1;
  int64_t iterations_in_epoch = 0;  // micro-batches consumed in `epoch`
  bool shuffle = true;
};

struct EpochIteratorOptions {
  uint32_t seed = 1;
  int64_t num_shards = 1;  // world size
  int64_t shard_id = 0;    // rank
  bool shuffle = true;     // false for validation
  int64_t curriculum = 0;  // no shuffle for epochs <= curriculum
  int64_t epoch = 1;       // first epoch
  // Batches shuffled as one unit, per epoch (the last value repeats, like --update-freq);
  // 1 = fairseq's order. --sync-buckets sets W * update_freq of each epoch.
  std::vector<int64_t> sync_group = {1};

  int64_t sync_group_for(int64_t epoch) const {
    if (sync_group.empty()) return 1;
    const size_t i = std::min(static_cast<size_t>(std::max<int64_t>(epoch, 1) - 1),
                              sync_group.size() - 1);
    return sync_group[i];
  }
};

class EpochBatchIterator {
 public:
  // batches_for_epoch(e) returns the batch list of epoch e (for resampled datasets); the
  // simple constructor freezes one list for every epoch.
  EpochBatchIterator(Batches frozen, EpochIteratorOptions options);
  EpochBatchIterator(std::function<Batches(int64_t)> batches_for_epoch,
                     EpochIteratorOptions options);

  // The batches this rank sees in `epoch`, starting at `offset`.
  Batches epoch_batches(int64_t epoch, bool shuffle) const;
  // Shuffles `batches` with RandomState(seed) (numpy.random.shuffle on a list).
  static Batches shuffle_batches(Batches batches, uint32_t seed);
  // Cuts `batches` into consecutive groups of `group`, shuffles the list of full groups with
  // RandomState(seed), flattens it and appends the shorter last group, if any, unshuffled (so
  // every full group starts at a multiple of `group`); group 1 = shuffle_batches.
  static Batches shuffle_groups(Batches batches, int64_t group, uint32_t seed);
  // fairseq ShardedIterator: every ceil(B/W)-th ... filled with empty batches.
  static Batches shard(const Batches& batches, int64_t num_shards, int64_t shard_id);

  int64_t next_epoch_idx() const;
  // Starts the next epoch (or the one restored by load_state); returns its number.
  int64_t next_epoch();
  bool has_next() const { return pos_ < static_cast<int64_t>(current_.size()); }
  const Batch& next();  // throws Error past the end
  bool end_of_epoch() const { return started_ && !has_next(); }
  int64_t epoch() const { return epoch_; }
  int64_t iterations_in_epoch() const { return started_ ? pos_ : pending_offset_; }
  int64_t epoch_size() const { return static_cast<int64_t>(current_.size()); }
  // The batches left in the current epoch (what next() will return).
  Batches remaining() const { return Batches(current_.begin() + pos_, current_.end()); }

  IteratorState state() const;
  // Throws Error when the restored epoch has <= iterations_in_epoch batches (the batches
  // changed: --max-tokens, world size...; relaunch with --reset-dataloader).
  void load_state(const IteratorState& state);

 private:
  bool shuffle_for(int64_t epoch, bool shuffle) const {
    return shuffle && epoch > options_.curriculum;
  }

  std::function<Batches(int64_t)> batches_for_epoch_;
  EpochIteratorOptions options_;
  int64_t epoch_ = 1;
  bool started_ = false;  // an epoch is being iterated
  bool pending_ = false;  // load_state() prepared the next epoch
  int64_t pending_offset_ = 0;
  bool pending_shuffle_ = true;
  bool current_shuffle_ = true;
  Batches current_;
  int64_t pos_ = 0;
};

// Loads batches with `num_workers` threads (0 = in the caller's thread), at most buffer_size
// ahead of the consumer, and returns them in batch order whatever the worker count. A loader
// exception is rethrown by next() at that batch's position.
template <class T>
class Prefetcher {
 public:
  using Loader = std::function<T(const Batch&)>;

  Prefetcher(Batches batches, Loader load, int num_workers, size_t buffer_size = 10)
      : batches_(std::move(batches)),
        load_(std::move(load)),
        buffer_(buffer_size < 1 ? 1 : buffer_size) {
    for (int w = 0; w < num_workers; ++w) workers_.emplace_back([this] { work(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  size_t size() const { return batches_.size(); }

  std::optional<T> next() {
    if (consumed_ >= batches_.size()) return std::nullopt;
    if (workers_.empty()) return load_(batches_[consumed_++]);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_.count(consumed_) > 0; });
    Slot slot = std::move(done_.at(consumed_));
    done_.erase(consumed_++);
    lock.unlock();
    cv_.notify_all();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(slot.value);
  }

 private:
  struct Slot {
    std::optional<T> value;
    std::exception_ptr error;
  };

  void work() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          return stop_ || claimed_ >= batches_.size() || claimed_ < consumed_ + buffer_;
        });
        if (stop_ || claimed_ >= batches_.size()) return;
        i = claimed_++;
      }
      Slot slot;
      try {
        slot.value.emplace(load_(batches_[i]));
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        done_.emplace(i, std::move(slot));
      }
      cv_.notify_all();
    }
  }

  Batches batches_;
  Loader load_;
  size_t buffer_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<size_t, Slot> done_;
  size_t claimed_ = 0;   // guarded by mu_
  size_t consumed_ = 0;  // written by the consumer under mu_ (threaded mode)
  bool stop_ = false;
};

}  // namespace trellis
