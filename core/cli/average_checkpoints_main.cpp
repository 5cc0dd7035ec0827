// average_checkpoints: the mean of the model parameters of several checkpoints, as fairseq's
// scripts/average_checkpoints.py (core/checkpoint_average.h; docs/checkpoint_format.md). The
// options are AverageCheckpointsOptions::visit() (average_checkpoints_program()).
#include <iostream>

#include "core/checkpoint.h"
#include "core/checkpoint_average.h"
#include "core/cli_parser.h"
#include "core/programs.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  return trellis::run_program("average_checkpoints", [&] {
    auto parsed = trellis::parse_command_line(trellis::average_checkpoints_program(),
                                              {argv + 1, argv + argc});
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    const auto& o = parsed.config.get<trellis::AverageCheckpointsOptions>("average_checkpoints");
    const std::vector<std::string> paths = trellis::checkpoints_to_average(o);
    std::cout << "averaging " << paths.size() << " checkpoint(s):\n";
    for (const auto& p : paths) std::cout << "  " << p << "\n";
    std::cout << std::flush;
    const trellis::CheckpointState averaged = trellis::average_checkpoints(paths);
    trellis::save_checkpoint(averaged, o.output);
    std::cout << "wrote " << o.output << " (" << averaged.model.size()
              << " model tensors averaged; the other fields are " << paths[0] << "'s)"
              << std::endl;
    return 0;
  });
}
