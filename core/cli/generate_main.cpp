// trellis generate: decode a split with trained checkpoints and score it.
#include <iostream>

#include "core/cli_parser.h"
#include "core/generate/generator.h"
#include "core/generation_options.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/runtime.h"
#include "core/train_options.h"

int main(int argc, char** argv) {
  trellis::maybe_reexec_for_blas(argc, argv);
  return trellis::run_program("generate", [&] {
    const trellis::log::Logger logger("trellis.generate");
    auto parsed =
        trellis::parse_command_line(trellis::generate_program(), {argv + 1, argv + argc});
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    const trellis::Config& config = parsed.config;
    const auto& common = config.get<trellis::CommonOptions>("common");
    const auto& gen = config.get<trellis::GenerationOptions>("generation");
    trellis::log::set_file(common.log_file);
    trellis::setup_runtime(common.threads);
    TRELLIS_CHECK(!gen.path.empty(), trellis::ConfigError, "--path is required");
    logger.info("configuration:\n{}", config.to_yaml("generate"));
    return trellis::run_generation(config);
  });
}
