// trellis transcribe: audio files or folders -> text (docs/generate.md, "transcribe").
#include <iostream>

#include "core/cli_parser.h"
#include "core/logging.h"
#include "core/programs.h"
#include "core/runtime.h"
#include "core/train_options.h"
#include "core/transcribe/transcribe_options.h"
#include "core/transcribe/transcript_format.h"
#include "trellis/transcriber.h"

int main(int argc, char** argv) {
  trellis::maybe_reexec_for_blas(argc, argv);
  return trellis::run_program("transcribe", [&] {
    const std::vector<std::string> args(argv + 1, argv + argc);
    auto parsed = trellis::parse_command_line(trellis::transcribe_program(), args);
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    const auto& common = parsed.config.get<trellis::CommonOptions>("common");
    const auto& options = parsed.config.get<trellis::TranscribeOptions>("transcribe");
    trellis::log::set_file(common.log_file);
    trellis::setup_runtime(common.threads);
    TRELLIS_CHECK(!options.inputs.empty(), trellis::ConfigError,
                  "no input: give audio files or folders after the options");
    const std::vector<std::string> files = trellis::expand_audio_inputs(options.inputs);
    TRELLIS_CHECK(!files.empty(), trellis::ConfigError, "no audio files in {}",
                  options.inputs.front());
    const trellis::Transcriber transcriber("", args);
    TRELLIS_CHECK(options.format() != "ctm" || transcriber.has_word_timings(), trellis::ConfigError,
                  "--output-format ctm needs word timings, and this model has no CTC output over "
                  "its target units");
    const bool timestamps = options.timestamps || options.format() == "ctm";
    // A chunk of files at a time: memory stays bounded and lines come out as they are ready.
    constexpr size_t kChunk = 64;
    int failed = 0;
    for (size_t b = 0; b < files.size(); b += kChunk) {
      const std::vector<std::string> chunk(
          files.begin() + static_cast<long>(b),
          files.begin() + static_cast<long>(std::min(files.size(), b + kChunk)));
      for (const trellis::Transcript& t : transcriber.transcribe_files(chunk)) {
        if (!t.ok()) {
          std::cerr << "transcribe: error: " << t.error << "\n";
          ++failed;
          continue;
        }
        std::cout << trellis::format_transcript(t, options.format(), timestamps) << std::flush;
      }
    }
    if (failed > 0)
      std::cerr << "transcribe: " << failed << " of " << files.size()
                << " file(s) could not be transcribed\n";
    return failed > 0 ? 1 : 0;
  });
}
