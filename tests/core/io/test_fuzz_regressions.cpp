// Replays the fuzzers' finds (tests/data/fuzz_regressions/<target>/*: inputs that once crashed
// a reader, kept after the fix) and the seed corpora (bench/fuzz/corpus/<target>/) through the
// fuzz targets' own entry points (bench/fuzz/fuzz_entry_points.h). Each input must be read or
// refused with a trellis::Error; another exception fails here, a crash or a sanitizer report
// ends the run (scripts/sanitize.sh runs these under ASan+UBSan).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "bench/fuzz/fuzz_entry_points.h"

namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every file under root/<target>/ through its target; the number of files replayed.
size_t replay(const fs::path& root) {
  size_t n = 0;
  for (const auto& t : trellis::fuzz::targets()) {
    const fs::path dir = root / t.name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      INFO(t.name << ": " << e.path().string());
      const std::vector<uint8_t> b = bytes_of(e.path());
      CHECK_NOTHROW(trellis::fuzz::run(t.name, b.data(), b.size()));
      ++n;
    }
  }
  return n;
}

std::set<std::string> target_names() {
  std::set<std::string> names;
  for (const auto& t : trellis::fuzz::targets()) names.insert(t.name);
  return names;
}

}  // namespace

TEST_CASE("fuzz regressions: every saved input is read or refused cleanly",
          "[unit][fuzz][reliability]") {
  const fs::path root = fs::path(TRELLIS_TEST_DATA) / "fuzz_regressions";
  REQUIRE(fs::is_directory(root));
  const std::set<std::string> names = target_names();
  for (const auto& e : fs::directory_iterator(root)) {  // a misspelt folder would never run
    if (e.is_directory()) CHECK(names.count(e.path().filename().string()) == 1);
  }
  CHECK(replay(root) > 0);
}

TEST_CASE("fuzz seeds: every target has seeds, read or refused cleanly", "[unit][fuzz]") {
  const fs::path root = fs::path(TRELLIS_SOURCE_DIR) / "bench" / "fuzz" / "corpus";
  REQUIRE(fs::is_directory(root));
  for (const std::string& name : target_names()) {
    INFO(name);
    CHECK(fs::is_directory(root / name));
  }
  CHECK(replay(root) >= target_names().size());
  CHECK_THROWS_AS(trellis::fuzz::run("no_such_target", nullptr, 0), std::logic_error);
}
