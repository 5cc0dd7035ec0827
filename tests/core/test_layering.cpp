// The layering rules of docs/architecture.md, checked on the source tree: the engine
// (core/train, core/generate) and the rest of core include only core; components (tasks,
// models, criteria, optim, scoring) include core but never the engine or the mains; a model
// never includes a criterion or a task; no registered component's name appears as a string
// literal in the engine. Only the mains (core/cli) may link everything.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/registry.h"

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = TRELLIS_SOURCE_DIR;

struct Source {
  std::string path;  // relative to the source root, e.g. "core/train/trainer.cpp"
  std::vector<std::pair<int, std::string>> includes;  // (line, "tasks/task.h")
  std::vector<std::pair<int, std::string>> lines;
};

std::vector<Source> sources_under(const std::string& dir) {
  std::vector<Source> out;
  if (!fs::is_directory(kRoot / dir)) return out;
  static const std::regex include_re(R"(^\s*#\s*include\s*"([^"]+)\")");
  for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
    const std::string ext = e.path().extension().string();
    if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp")) continue;
    Source s;
    s.path = fs::relative(e.path(), kRoot).generic_string();
    std::ifstream in(e.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (std::regex_search(line, m, include_re)) s.includes.emplace_back(n, m[1].str());
      s.lines.emplace_back(n, line);
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Every include of the files under `dir` (minus `except`) that starts with one of `banned`.
std::vector<std::string> violations(const std::string& dir, const std::vector<std::string>& banned,
                                    const std::string& except = "") {
  std::vector<std::string> out;
  for (const Source& s : sources_under(dir)) {
    if (!except.empty() && starts_with(s.path, except)) continue;
    for (const auto& [line, inc] : s.includes)
      for (const auto& b : banned)
        if (starts_with(inc, b)) out.push_back(s.path + ":" + std::to_string(line) + ": " + inc);
  }
  return out;
}

}  // namespace

TEST_CASE("layering: core includes no component, components include no engine",
          "[unit][layering]") {
  REQUIRE(fs::is_directory(kRoot / "core"));
  const std::vector<std::string> components{"tasks/", "models/", "criteria/", "optim/",
                                            "scoring/"};
  // core (engine, data, io, interfaces) knows components only through core/interfaces; the
  // mains (core/cli) are the one place that links everything.
  CHECK(violations("core", components, "core/cli/") == std::vector<std::string>{});
  const std::vector<std::string> engine{"core/train/", "core/generate/", "core/cli/"};
  for (const char* dir : {"tasks", "models", "criteria", "optim", "scoring"}) {
    INFO(dir);
    CHECK(violations(dir, engine) == std::vector<std::string>{});
  }
  CHECK(violations("models", {"criteria/", "tasks/", "scoring/"}) == std::vector<std::string>{});
  CHECK(violations("criteria", {"tasks/", "models/", "scoring/"}) == std::vector<std::string>{});
  CHECK(violations("optim", {"tasks/", "models/", "criteria/", "scoring/"}) ==
        std::vector<std::string>{});
  CHECK(violations("scoring", {"tasks/", "models/", "criteria/", "optim/"}) ==
        std::vector<std::string>{});
}

TEST_CASE("layering: no component's name in the engine or in another component",
          "[unit][layering]") {
  // name -> its registering file without extension ("criteria/ctc_multi_loss"), from the
  // registries' origins ("builtin (criteria/ctc_multi_loss.cpp:73)").
  std::map<std::string, std::set<std::string>> owners;
  for (auto* r : trellis::RegistryBase::all()) {
    for (const auto& n : r->names()) {
      const std::string origin = r->info(n).origin;
      if (!starts_with(origin, "builtin (")) continue;  // plugins and tests
      const std::string file = origin.substr(9, origin.find(':') - 9);
      owners[n].insert(file.substr(0, file.rfind('.')));
    }
  }
  REQUIRE(owners.count("ctc_multi_loss") == 1);  // the built-ins are registered
  // Registered names that are also ordinary values elsewhere (not references to the
  // component): "fixed" is a --ctc-compress-strategy, "sentencepiece" a --post-process symbol,
  // "wer" a logged statistic; "adamw" is named by optim/adam.cpp, which implements its update.
  for (const char* coincidence : {"fixed", "sentencepiece", "wer", "adamw"})
    owners.erase(coincidence);
  std::vector<std::string> found;
  for (const char* dir :
       {"core/train", "core/generate", "tasks", "models", "criteria", "optim", "scoring"}) {
    for (const Source& s : sources_under(dir)) {
      const std::string stem = s.path.substr(0, s.path.rfind('.'));
      for (const auto& [n, line] : s.lines) {
        const size_t first = line.find_first_not_of(" \t");
        if (first != std::string::npos && starts_with(line.substr(first), "//"))
          continue;  // comments may mention examples
        for (const auto& [name, files] : owners) {
          if (line.find("\"" + name + "\"") == std::string::npos) continue;
          bool own = false;  // the component's own file pair may name itself
          for (const auto& f : files)
            own = own || (stem.size() >= f.size() && stem.compare(stem.size() - f.size(),
                                                                  f.size(), f) == 0);
          if (!own) found.push_back(s.path + ":" + std::to_string(n) + ": \"" + name + "\"");
        }
      }
    }
  }
  CHECK(found == std::vector<std::string>{});
}

TEST_CASE("layering: the layering check sees a violation", "[unit][layering]") {
  // The scanner itself: every task includes the interfaces, so asking for those finds some.
  CHECK_FALSE(violations("tasks", {"core/interfaces/"}).empty());
}
