#pragma once
// The engine's view of a collated micro-batch (fairseq's sample dict). The trainer counts,
// shards, prefetches and hands batches back to the task that made them; only that task looks
// inside (tasks/speech_batch.h is the speech tasks' batch). A task brings its own batch type by
// deriving from TaskBatch; batch_cast checks that a batch is of the type a task expects.

#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "core/error.h"

namespace trellis {

class TaskBatch {
 public:
  virtual ~TaskBatch() = default;

  std::vector<int64_t> indices;  // (B) sample indices in the split (concatenation order)
  std::vector<std::string> ids;  // (B) manifest ids
  int64_t ntokens = 0;           // target tokens (fairseq's sample["ntokens"])
  int64_t src_frames = 0;        // real source frames (samples for raw audio)
  int64_t padded_frames = 0;     // B * T (real + padding), for the padding fraction

  int64_t size() const { return static_cast<int64_t>(indices.size()); }
  bool empty() const { return indices.empty(); }
};

// What a task's collate returns and the engine passes around (shared: the trainer keeps a
// dummy batch, the prefetcher hands batches across threads).
using BatchPtr = std::shared_ptr<const TaskBatch>;

// The batch as the task's own type B, or an Error naming both types (a batch handed to a task
// that did not make it).
template <class B>
const B& batch_cast(const TaskBatch& batch) {
  const auto* b = dynamic_cast<const B*>(&batch);
  TRELLIS_CHECK(b != nullptr, Error, "a batch of type {} was given to a task that expects {}",
                typeid(batch).name(), typeid(B).name());
  return *b;
}

}  // namespace trellis
