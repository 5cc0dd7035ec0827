// average_checkpoints: the mean of the model parameters of several checkpoints, as fairseq's
// scripts/average_checkpoints.py (core/checkpoint_average.h; docs/checkpoint_format.md).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "core/checkpoint.h"
#include "core/checkpoint_average.h"
#include "core/error.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<std::string> inputs;
  std::string output;
  int64_t num_epoch = 0, num_update = 0, upper_bound = 0;
  CLI::App app{
      "Average the model parameters of checkpoints into a new checkpoint (fairseq's "
      "average_checkpoints.py): the files given, or the last N epoch or update checkpoints of "
      "a folder. Other fields come from the first input (the newest, for a folder).",
      "average_checkpoints"};
  app.add_option("--inputs", inputs,
                 "checkpoint files, or one folder with --num-epoch-checkpoints or "
                 "--num-update-checkpoints")
      ->required()
      ->expected(1, -1);
  app.add_option("--output", output, "the averaged checkpoint to write (atomically)")->required();
  auto* epochs = app.add_option("--num-epoch-checkpoints", num_epoch,
                                "average the N highest-numbered checkpointE.pt of the folder");
  auto* updates = app.add_option("--num-update-checkpoints", num_update,
                                 "average the N highest-U checkpoint_E_U.pt of the folder");
  epochs->excludes(updates);
  auto* bound = app.add_option("--checkpoint-upper-bound", upper_bound,
                               "skip checkpoints whose E (or U) is above this (e.g. "
                               "--num-epoch-checkpoints 10 --checkpoint-upper-bound 50: 41-50)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; bad flags: 2, like argparse
  }

  return trellis::run_program("average_checkpoints", [&] {
    using trellis::ConfigError;
    const bool select = epochs->count() > 0 || updates->count() > 0;
    TRELLIS_CHECK(bound->count() == 0 || select, ConfigError,
                  "--checkpoint-upper-bound requires --num-epoch-checkpoints or "
                  "--num-update-checkpoints");
    std::vector<std::string> paths = inputs;
    if (select) {
      TRELLIS_CHECK(inputs.size() == 1 && fs::is_directory(inputs[0]), ConfigError,
                    "{} needs --inputs to be one folder (got {})",
                    epochs->count() ? "--num-epoch-checkpoints" : "--num-update-checkpoints",
                    inputs.size() == 1 ? inputs[0] + ", not a folder"
                                       : std::to_string(inputs.size()) + " paths");
      TRELLIS_CHECK(std::max(num_epoch, num_update) > 0, ConfigError,
                    "{} must be at least 1",
                    epochs->count() ? "--num-epoch-checkpoints" : "--num-update-checkpoints");
      paths = trellis::select_checkpoints(
          inputs[0], num_epoch, num_update,
          bound->count() ? std::optional<int64_t>(upper_bound) : std::nullopt);
    } else {
      for (const auto& p : inputs)
        TRELLIS_CHECK(!fs::is_directory(p), ConfigError,
                      "--inputs {} is a folder: add --num-epoch-checkpoints N or "
                      "--num-update-checkpoints N to average its last N checkpoints",
                      p);
    }
    TRELLIS_CHECK(!fs::is_directory(output), ConfigError, "--output {} is a folder", output);

    std::cout << "averaging " << paths.size() << " checkpoint(s):\n";
    for (const auto& p : paths) std::cout << "  " << p << "\n";
    std::cout << std::flush;
    const trellis::CheckpointState averaged = trellis::average_checkpoints(paths);
    trellis::save_checkpoint(averaged, output);
    std::cout << "wrote " << output << " (" << averaged.model.size()
              << " model tensors averaged; the other fields are " << paths[0] << "'s)"
              << std::endl;
    return 0;
  });
}
