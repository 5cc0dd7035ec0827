// trellis train: parse fairseq-style flags, set up the process, train.
#include <iostream>

#include "core/cli_parser.h"
#include "core/distributed/communicator.h"
#include "core/distributed/launcher.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/runtime.h"
#include "core/train/train_loop.h"
#include "core/train_options.h"

int main(int argc, char** argv) {
  trellis::maybe_reexec_for_blas(argc, argv);
  return trellis::run_program("train", [&] {
    const trellis::log::Logger logger("trellis.train");
    auto parsed = trellis::parse_command_line(trellis::train_program(), {argv + 1, argv + argc});
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    const trellis::Config& config = parsed.config;
    const auto& common = config.get<trellis::CommonOptions>("common");
    const auto& dist = config.get<trellis::DistributedOptions>("distributed_training");
    if (trellis::needs_spawn(dist))  // --distributed-world-size N on this machine
      return trellis::spawn_workers({argv, argv + argc}, dist.distributed_world_size,
                                    common.threads);
    if (auto setup = trellis::resolve_distributed(dist, false)) trellis::log::set_rank(setup->rank);
    trellis::log::set_file(common.log_file);
    trellis::setup_runtime(common.threads);
    for (const char* selector : {"task", "arch", "criterion", "optimizer"}) {
      TRELLIS_CHECK(!config.component(selector).empty(), trellis::ConfigError,
                    "--{} is required (see train --help for the registered names)",
                    trellis::to_flag(selector).substr(2));
    }
    logger.info("configuration:\n{}", config.to_yaml("train"));
    return trellis::run_training(config);
  });
}
