#pragma once
// Tasks (--task): own the data (splits, vocabularies) and build the model and criterion.
// The interface grows with the training issue; the registry exists so that --task parses,
// --help lists the names and plugins can add tasks.

#include "core/registry.h"

namespace trellis {

class Task {
 public:
  virtual ~Task() = default;
};

struct TaskContext {};

using TaskRegistry = Registry<Task, const TaskContext&>;
TaskRegistry& task_registry();

}  // namespace trellis
