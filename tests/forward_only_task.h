#pragma once
// A Task for tests and benches (bench/) that drive Trainer::train_step on batches they build
// themselves: the data methods have nothing to serve (no datasets, no batches, no models or
// criteria to build) and a subclass writes forward() only.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/interfaces/task.h"

namespace trellis::testing {

class ForwardOnlyTask : public Task {
 public:
  void load_dataset(const std::string&, bool) override {}
  int64_t dataset_size(const std::string&) const override { return 0; }
  const std::vector<int64_t>& source_sizes(const std::string&) const override { return none_; }
  Batches batches(const std::string&, const BatchRequest&) override { return {}; }
  BatchPtr collate(const std::string&, const Batch&, uint64_t) const override { return {}; }
  std::unique_ptr<Model> build_model(const std::string&, const AnyOptions&) override {
    return nullptr;
  }
  std::unique_ptr<Criterion> build_criterion(const std::string&, const AnyOptions&,
                                             const AnyOptions*, bool) override {
    return nullptr;
  }
  const Dictionary& target_dictionary() const override { throw Error("test task: no dictionary"); }
  std::map<std::string, std::string> task_state() const override { return {}; }

 private:
  std::vector<int64_t> none_;
};

}  // namespace trellis::testing
