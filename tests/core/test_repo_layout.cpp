// The repository stands alone: no source, script or page cites the design notes or research
// specs kept beside the checkout (they are not part of it); the facts those citations needed
// live in docs/. Every docs page a file names must exist, and a quoted section after it
// (`docs/models.md, "Keys"`) must be one of that page's headings. docs/status.md (a history
// log), tests/data and build trees are not scanned. bench/ scripts may still run the Python
// references kept beside the checkout: running them is not citing them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = TRELLIS_SOURCE_DIR;

struct TextFile {
  std::string path;  // relative to the source root, e.g. "core/checkpoint.h"
  std::vector<std::string> lines;
};

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

// Sources, build files, scripts and pages of the repository.
std::vector<TextFile> repository_text_files() {
  static const std::set<std::string> exts = {".h",  ".cpp", ".md",   ".cmake", ".sh",
                                             ".py", ".txt", ".yaml", ".in"};
  std::vector<TextFile> out;
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    const std::string rel = fs::relative(p, kRoot).generic_string();
    const std::string name = p.filename().string();
    if (it->is_directory()) {
      const bool top = it.depth() == 0;
      if (starts_with(name, ".") || rel == "tests/data" || fs::exists(p / "CMakeCache.txt") ||
          (top && (starts_with(name, "build") || name == "out" || name == "shared")))
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !exts.count(p.extension().string()) || rel == "docs/status.md" ||
        it->file_size() > (1 << 20))
      continue;
    TextFile f{rel, {}};
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) f.lines.push_back(line);
    out.push_back(std::move(f));
  }
  return out;
}

std::string where(const TextFile& f, size_t i) { return f.path + ":" + std::to_string(i + 1); }

// The citations of material outside the repository on this line, if any. The needles are put
// together here so that this file does not cite anything itself.
std::vector<std::string> outside_citations(const std::string& line) {
  static const std::vector<std::string> needles = {
      std::string("DESIGN") + ".md", std::string("fairseq-") + "compat.md",
      std::string("..") + "/shared/spec", std::string("..") + "/shared/DESIGN"};
  static const std::regex spec_page(std::string("(^|[^A-Za-z0-9_.-])spec") +
                                    R"(/[A-Za-z0-9_.-]+\.md)");
  static const std::regex spec_section(std::string(R"(\bspec )") + "(§|correction|section)");
  // models.md followed by a section number, not preceded by docs/ (the spec's numbering).
  static const std::regex models_section(std::string("(^|[^/])models") + R"(\.md ?(§|[0-9]))");
  std::vector<std::string> out;
  for (const auto& n : needles)
    if (line.find(n) != std::string::npos) out.push_back(n);
  if (line.find("spec") != std::string::npos) {
    std::smatch m;
    if (std::regex_search(line, m, spec_page)) out.push_back(m.str());
    if (std::regex_search(line, m, spec_section)) out.push_back(m.str());
  }
  if (line.find("models.md") != std::string::npos) {
    std::smatch m;
    if (std::regex_search(line, m, models_section)) out.push_back(m.str());
  }
  return out;
}

// The heading lines of docs/<page>.md ("## Conformer family (`models/conformer/`)"), read once.
const std::vector<std::string>* headings(const std::string& page) {
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(page);
  if (it == cache.end()) {
    std::vector<std::string> hs;
    std::ifstream in(kRoot / "docs" / (page + ".md"));
    if (!in) return nullptr;
    for (std::string line; std::getline(in, line);)
      if (starts_with(line, "#")) hs.push_back(line);
    it = cache.emplace(page, std::move(hs)).first;
  }
  return &it->second;
}

}  // namespace

TEST_CASE("the repository cites no material kept outside it", "[unit][docs]") {
  const auto files = repository_text_files();
  // The walk found the tree (a wrong TRELLIS_SOURCE_DIR must not pass vacuously).
  std::set<std::string> seen;
  for (const auto& f : files) seen.insert(f.path);
  REQUIRE(seen.count("core/registry.h"));
  REQUIRE(seen.count("docs/architecture.md"));
  REQUIRE(!seen.count("docs/status.md"));

  for (const auto& f : files)
    for (size_t i = 0; i < f.lines.size(); ++i)
      for (const auto& c : outside_citations(f.lines[i]))
        FAIL_CHECK(where(f, i) << ": cites '" << c << "', which is not in the repository; cite "
                               << "the docs/ page that states the fact instead");
}

TEST_CASE("every docs page and section that a file cites exists", "[unit][docs]") {
  const auto files = repository_text_files();
  REQUIRE(!files.empty());
  static const std::regex page_re(R"((^|[^A-Za-z0-9_./-])docs/([A-Za-z0-9_-]+)\.md)");
  static const std::regex section_re(R"re(docs/([A-Za-z0-9_-]+)\.md,? \(?"([^"]+)")re");
  int pages = 0, sections = 0;
  for (const auto& f : files) {
    for (size_t i = 0; i < f.lines.size(); ++i) {
      const std::string& line = f.lines[i];
      if (line.find("docs/") == std::string::npos) continue;
      for (std::sregex_iterator m(line.begin(), line.end(), page_re), end; m != end; ++m) {
        ++pages;
        const std::string page = (*m)[2].str();
        if (!fs::is_regular_file(kRoot / "docs" / (page + ".md")))
          FAIL_CHECK(where(f, i) << ": docs/" << page << ".md does not exist");
      }
      for (std::sregex_iterator m(line.begin(), line.end(), section_re), end; m != end; ++m) {
        ++sections;
        const std::string page = (*m)[1].str(), section = (*m)[2].str();
        const auto* hs = headings(page);
        if (!hs) continue;  // reported above
        bool found = false;
        for (const auto& h : *hs) found = found || h.find(section) != std::string::npos;
        if (!found)
          FAIL_CHECK(where(f, i) << ": docs/" << page << ".md has no section \"" << section
                                 << "\"");
      }
    }
  }
  // The scan saw the citations (the regexes did not silently stop matching).
  CHECK(pages > 50);
  CHECK(sections > 10);
}
