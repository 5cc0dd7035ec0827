#include "core/generate/model_loader.h"

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/data/dictionary.h"
#include "core/error.h"
#include "core/generate/model_overrides.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/train_options.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
const log::Logger logger("trellis.generate");

// The training configuration stored in a checkpoint, parsed back (its plugins are loaded).
Config stored_config(const CheckpointState& s, const std::string& path) {
  const fs::path tmp = fs::temp_directory_path() /
                       fmt::format("trellis_generate_{}_config.yaml", ::getpid());
  std::ofstream(tmp) << s.config_yaml;
  try {
    Config c = parse_command_line(train_program(), {"--config", tmp.string()}).config;
    fs::remove(tmp);
    return c;
  } catch (const Error& e) {
    fs::remove(tmp);
    throw CheckpointError(fmt::format("{}: its stored configuration does not load here ({}); a "
                                      "plugin it names may be missing: {}",
                                      path, e.what(), [&] {
                                        std::string p;
                                        for (const auto& [k, v] : s.plugins)
                                          p += (p.empty() ? "" : ", ") + k + " from " + v;
                                        return p;
                                      }()));
  }
}


}  // namespace

namespace {

// task_name/task_options: the task to rebuild (empty/null: the checkpoint's own);
// model_overrides: --model-overrides, applied to the stored configuration first.
LoadedCheckpoint load(const std::string& path, const std::string& data_root, uint64_t seed,
                      const std::string& task_name, const AnyOptions* task_options,
                      const std::string& model_overrides) {
  LoadedCheckpoint l{load_checkpoint(path), Config{}, nullptr, nullptr, 0};
  l.config = stored_config(l.state, path);
  apply_model_overrides(l.config, model_overrides, path);
  TaskContext ctx;
  ctx.data_root = data_root;
  ctx.criterion_needs =
      criterion_registry().needs(l.state.criterion, l.config.find("criterion")->options);
  ctx.seed = seed;
  ctx.restored_state = l.state.task_state;
  const std::string name = task_name.empty() ? l.state.task : task_name;
  l.task = task_registry().create(name, task_options ? *task_options
                                                     : l.config.find("task")->options,
                                  ctx);
  l.model = std::shared_ptr<Model>(
      l.task->build_model(l.state.arch, l.config.find("arch")->options));
  l.model->load_state_dict(l.state.model, /*strict=*/true);
  l.state.model.clear();  // the model holds the weights now
  l.state.optimizer_state.clear();
  l.model->eval();
  l.blank = l.task->ctc_blank();
  logger.info("loaded {}: --arch {} --task {} --criterion {} ({} updates)", path, l.state.arch,
              name, l.state.criterion, l.state.num_updates);
  return l;
}

}  // namespace

LoadedCheckpoint load_for_generation(const std::string& path, const Config& cli,
                                     const std::string& model_overrides, bool checkpoint_task) {
  // The command line's --task (and its options) wins; otherwise the checkpoint's.
  const bool cli_task = !checkpoint_task && !cli.component("task").empty();
  return load(path, cli.get<DataRootOptions>("data").data,
              static_cast<uint64_t>(cli.get<CommonOptions>("common").seed),
              cli_task ? cli.component("task") : std::string(),
              cli_task ? &cli.find("task")->options : nullptr, model_overrides);
}

LoadedCheckpoint load_with_own_task(const std::string& path, const std::string& data_root,
                                    uint64_t seed) {
  return load(path, data_root, seed, "", nullptr, "");
}

// Joint CTC/attention adds CTC and decoder scores of the same unit: the CTC dictionary (the
// source one, for ctc_multi_loss) must start with the target dictionary's symbols.
void check_joint_vocabulary(const Task& task, const std::string& path) {
  const Dictionary& tgt = task.target_dictionary();
  const Dictionary* src = task.source_dictionary();
  bool same = src != nullptr && src->size() >= tgt.size();
  for (int64_t i = 0; same && i < tgt.size(); ++i) same = src->symbol(i) == tgt.symbol(i);
  TRELLIS_CHECK(same, ConfigError,
                "--ctc-weight: the CTC head of {} predicts other units than its decoder (the "
                "source and target dictionaries differ), so their scores cannot be joined",
                path);
}

}  // namespace trellis
