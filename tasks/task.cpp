#include "tasks/task.h"

namespace trellis {

TaskRegistry& task_registry() {
  static TaskRegistry registry("task", "--task");
  return registry;
}

static TaskRegistry& task_registry_instance = task_registry();

}  // namespace trellis
