// The C++ API from outside: `cmake --install` of this build into a temporary prefix, the
// out-of-tree example (examples/transcribe_api) configured with find_package(trellis) against
// it, built and run on a file: it prints the text the installed trellis-transcribe prints, and
// one line per word with times inside the file.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "core/data/audio_reader.h"
#include "run_command.h"
#include "skip.h"
#include "transcribe_model.h"

namespace fs = std::filesystem;
using trellis::testing::run_command;

TEST_CASE("transcribe API: the example builds against the installed package and transcribes",
          "[integration][transcribe]") {
  if (std::system("command -v cmake > /dev/null 2>&1 && command -v c++ > /dev/null 2>&1"))
    trellis::testing::skip_test("cmake or a C++ compiler is not installed");
  const std::string ckpt = trellis::testing::transcribe_model();
  if (ckpt.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string wav = std::string(TRELLIS_BINARY_DIR) + "/test_corpus/corpus/utt00002.wav";
  REQUIRE(fs::exists(wav));
  const std::string dir = trellis::testing::fresh_dir("transcribe_api");
  const std::string prefix = dir + "/prefix";
  auto inst = run_command(fmt::format("cmake --install '{}' --prefix '{}' > '{}/install.log'",
                                      TRELLIS_BINARY_DIR, prefix, dir));
  INFO(inst.output);
  REQUIRE(inst.exit_code == 0);
  CHECK(fs::exists(prefix + "/include/trellis/transcriber.h"));
  CHECK(fs::exists(prefix + "/bin/trellis-transcribe"));
  const std::string example = std::string(TRELLIS_SOURCE_DIR) + "/examples/transcribe_api";
  auto build = run_command(fmt::format(
      "cmake -S '{0}' -B '{1}/build' -DCMAKE_PREFIX_PATH='{2}' -DCMAKE_BUILD_TYPE=Release "
      "> '{1}/configure.log' 2>&1 || {{ cat '{1}/configure.log'; exit 1; }}; "
      "cmake --build '{1}/build' -j2",
      example, dir, prefix));
  INFO(build.output);
  REQUIRE(build.exit_code == 0);

  const auto api =
      run_command(fmt::format("{{ '{}/build/transcribe_api' '{}' '{}' --threads 1 "
                              "2>/dev/null; }}",
                              dir, ckpt, wav));
  const auto cli =
      run_command(fmt::format("{{ '{}/bin/trellis-transcribe' --path '{}' '{}' "
                              "--threads 1 2>/dev/null; }}",
                              prefix, ckpt, wav));
  INFO(api.output << "\n--- trellis-transcribe:\n" << cli.output);
  REQUIRE(api.exit_code == 0);
  REQUIRE(cli.exit_code == 0);
  std::istringstream lines(api.output);
  std::string text;
  std::getline(lines, text);
  CHECK(cli.output == wav + "\t" + text + "\n");
  const trellis::Audio audio = trellis::read_audio(wav, 0);
  const double duration = static_cast<double>(audio.samples.size()) / audio.sample_rate;
  double last_end = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    double start = -1, end = -1;
    std::string word;
    f >> start >> end >> word;
    CHECK(start >= last_end - 0.005);  // printed with 2 decimals
    CHECK(end >= start);
    CHECK(end <= duration + 0.005);
    CHECK(!word.empty());
    last_end = end;
  }
  // The installed program's errors name the file and its exit status is 1.
  const auto missing =
      run_command(fmt::format("'{}/bin/trellis-transcribe' --path '{}' "
                              "'{}/nope.wav'",
                              prefix, ckpt, dir));
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find(dir + "/nope.wav") != std::string::npos);
}
