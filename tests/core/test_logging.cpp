#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/logging.h"

namespace lg = trellis::log;

TEST_CASE("log lines follow fairseq's format and name the rank", "[unit][logging]") {
  std::string line = lg::format_line(lg::Level::kInfo, "trellis.train", "hello");
  CHECK(std::regex_match(line, std::regex(
                                   R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO \| trellis\.train \| hello)")));
  lg::set_rank(3);
  CHECK_THAT(lg::format_line(lg::Level::kWarning, "x", "m"),
             Catch::EndsWith("| WARNING | x | [rank 3] m"));
  lg::set_rank(0);
}

TEST_CASE("log file receives the lines; other ranks keep only warnings",
          "[unit][logging]") {
  auto path = std::filesystem::temp_directory_path() / "trellis_log_test.log";
  std::filesystem::remove(path);
  lg::set_file(path.string());
  const lg::Logger logger("trellis.test");
  logger.info("first {}", 1);
  lg::set_rank(1);
  logger.info("hidden on rank 1");
  logger.warn("shown on rank {}", 1);
  lg::set_rank(0);
  lg::set_file("");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK_THAT(ss.str(), Catch::Contains("| INFO | trellis.test | first 1"));
  CHECK_THAT(ss.str(), !Catch::Contains("hidden"));
  CHECK_THAT(ss.str(), Catch::Contains("[rank 1] shown on rank 1"));
  CHECK_THROWS_AS(lg::set_file("/nonexistent/dir/x.log"), trellis::ConfigError);
}
