// prepare: speech corpora -> fairseq speech_to_text data folder (core/data/prepare.h). The
// options are PrepareOptions::visit() (prepare_program()): flags, --help, --config, --dump-config.
#include <cstdio>
#include <iostream>

#include "core/cli_parser.h"
#include "core/data/prepare.h"
#include "core/programs.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  return trellis::run_program("prepare", [&] {
    auto parsed = trellis::parse_command_line(trellis::prepare_program(), {argv + 1, argv + argc});
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    const auto& options = parsed.config.get<trellis::PrepareOptions>("prepare");
    const trellis::PrepareSummary s = trellis::run_prepare(options);
    for (size_t i = 0; i < s.splits.size(); ++i)
      std::fprintf(stderr, "prepare: %s.tsv: %lld rows\n", s.splits[i].c_str(),
                   static_cast<long long>(s.rows[i]));
    if (s.skipped_bad_audio)
      std::fprintf(stderr, "prepare: skipped %lld bad audio file(s)\n",
                   static_cast<long long>(s.skipped_bad_audio));
    return 0;
  });
}
