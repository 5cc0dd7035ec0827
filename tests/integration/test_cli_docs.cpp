// docs/cli.md is generated from --help; it must match what the executables print now.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_command.h"

TEST_CASE("docs/cli.md is up to date with --help", "[integration][docs]") {
  const std::string src = TRELLIS_SOURCE_DIR;
  auto out = std::filesystem::temp_directory_path() / "trellis_cli_check.md";
  auto r = trellis::testing::run_command("bash " + src + "/scripts/gen_cli_docs.sh " +
                                         std::string(TRELLIS_BINARY_DIR) + " " + out.string());
  REQUIRE(r.exit_code == 0);
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  INFO("regenerate with: scripts/gen_cli_docs.sh");
  CHECK(read(out.string()) == read(src + "/docs/cli.md"));
}
