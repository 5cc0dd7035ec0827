#pragma once
// Builds speech tasks through the registry for the tests of tests/tasks.

#include <map>
#include <memory>
#include <string>

#include "core/interfaces/criterion.h"
#include "core/options.h"
#include "tasks/speech_to_text.h"

namespace trellis::testing {

// task `name` on data_root; options: flag values by key ({"skip_invalid_audio", "true"}).
inline std::unique_ptr<SpeechToTextTask> make_speech_task(
    const std::string& name, const std::string& data_root, const std::string& criterion,
    const std::map<std::string, std::string>& options = {},
    const std::map<std::string, std::string>& restored_state = {}) {
  AnyOptions o = task_registry().make_options(name);
  Fields fields = o.fields();
  for (const auto& kv : options) fields.find(kv.first)->set_from_string(kv.second, kv.first);
  TaskContext ctx;
  ctx.data_root = data_root;
  if (!criterion.empty())
    ctx.criterion_needs =
        criterion_registry().needs(criterion, criterion_registry().make_options(criterion));
  ctx.restored_state = restored_state;
  std::unique_ptr<Task> t = task_registry().create(name, o, ctx);
  return std::unique_ptr<SpeechToTextTask>(dynamic_cast<SpeechToTextTask*>(t.release()));
}

}  // namespace trellis::testing
