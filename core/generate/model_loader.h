#pragma once
// What `generate` decodes with: a checkpoint's model, task and vocabularies rebuilt from the
// checkpoint alone (its stored configuration, parsed again, and its task state).

#include <cstdint>
#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "core/cli_parser.h"

namespace trellis {

class Model;
class Task;

struct LoadedCheckpoint {  // state.model is emptied once the model holds the weights
  CheckpointState state;
  Config config;
  std::unique_ptr<Task> task;
  std::shared_ptr<Model> model;
  int64_t blank = 0;
};

// cli: generate's parsed command line (DATA_ROOT, --task, --seed). CheckpointError names the
// file and the plugins it needs when its configuration does not load. model_overrides:
// --model-overrides (core/generate/model_overrides.h). checkpoint_task: use the checkpoint's
// own task even when the command line names one (an LM given to --lm-path).
LoadedCheckpoint load_for_generation(const std::string& path, const Config& cli,
                                     const std::string& model_overrides = "",
                                     bool checkpoint_task = false);
// The same with the checkpoint's own task and options (an LM given to --lm-path); data_root
// may be empty when the task state holds the vocabularies.
LoadedCheckpoint load_with_own_task(const std::string& path, const std::string& data_root,
                                    uint64_t seed = 1);
// ConfigError unless the CTC dictionary starts with the target dictionary's symbols (joint
// CTC/attention adds their scores unit by unit).
void check_joint_vocabulary(const Task& task, const std::string& path);

}  // namespace trellis
