#include "core/interfaces/task.h"

#include "core/data/dictionary.h"

namespace trellis {

TaskRegistry& task_registry() {
  static TaskRegistry registry("task", "--task");
  return registry;
}

static TaskRegistry& task_registry_instance = task_registry();

DecodingInput Task::decoding_input(const TaskBatch& batch) const {
  (void)batch;
  throw ConfigError("this --task does not decode text: generate needs a task whose batches "
                    "hold a model input and a reference (e.g. speech_to_text)");
}

DecodingInput Task::audio_input(const std::vector<std::vector<float>>& waves) const {
  (void)waves;
  throw ConfigError("this --task does not turn audio into a model input: transcribe needs a "
                    "speech task (e.g. speech_to_text)");
}

std::string Task::detokenize(const std::vector<int64_t>& ids) const {
  const Dictionary& d = target_dictionary();
  std::vector<int64_t> kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == d.eos() || ids[i] == d.pad()) continue;
    if (traits().target_lang_tag && i == 0) continue;
    kept.push_back(ids[i]);
  }
  return d.string(kept);
}

}  // namespace trellis
