#pragma once
// --task toy_copy: a task from a plugin, with its own batch type. Each line of DATA/<split>.txt
// is a sequence of digits ("3 1 4 1 5"); the source is the sequence's one-hot frames, each
// digit held for `toy_frames_per_digit` frames, and the target is the digits themselves. A CTC
// model learns to copy them; generate decodes and scores it like any task.
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/data/dictionary.h"
#include "core/interfaces/task.h"

namespace toy {

struct ToyCopyOptions {
  int64_t toy_frames_per_digit = 8;
  template <class V>
  void visit(V& v) {
    v.field("toy_frames_per_digit", toy_frames_per_digit, "source frames per target digit");
  }
  void validate() const;
};

// The task's own batch: only ToyCopyTask looks inside it (the engine sees a TaskBatch).
struct ToyCopyBatch : trellis::TaskBatch {
  at::Tensor frames;          // (B, T, F) float one-hot, zero-padded
  at::Tensor frame_lengths;   // (B) int64
  at::Tensor digits;          // (B, L) int64 dictionary ids + eos, right-padded with pad
  at::Tensor digit_lengths;   // (B) int64, including eos
};

class ToyCopyTask : public trellis::Task {
 public:
  ToyCopyTask(const ToyCopyOptions& options, const trellis::TaskContext& ctx);

  void load_dataset(const std::string& split, bool is_train) override;
  int64_t dataset_size(const std::string& split) const override;
  const std::vector<int64_t>& source_sizes(const std::string& split) const override;
  trellis::Batches batches(const std::string& split,
                           const trellis::BatchRequest& request) override;
  trellis::BatchPtr collate(const std::string& split, const trellis::Batch& batch,
                            uint64_t seed) const override;
  std::unique_ptr<trellis::Model> build_model(const std::string& arch,
                                              const trellis::AnyOptions& arch_options) override;
  std::unique_ptr<trellis::Criterion> build_criterion(const std::string& name,
                                                      const trellis::AnyOptions& options,
                                                      const trellis::AnyOptions* underlying,
                                                      bool sentence_avg) override;
  trellis::LossOutput forward(trellis::Model& model, trellis::Criterion& criterion,
                              const trellis::TaskBatch& batch) override;
  const trellis::Dictionary& target_dictionary() const override { return dict_; }
  std::map<std::string, std::string> task_state() const override { return {}; }
  trellis::DecodingInput decoding_input(const trellis::TaskBatch& batch) const override;

 private:
  struct Split {
    std::vector<std::vector<int64_t>> digits;  // dictionary ids, eos last
    std::vector<int64_t> frames;               // source frames per sample
  };
  const Split& split(const std::string& name) const;

  ToyCopyOptions options_;
  trellis::TaskContext ctx_;
  trellis::Dictionary dict_;
  std::map<std::string, Split> splits_;
};

}  // namespace toy
