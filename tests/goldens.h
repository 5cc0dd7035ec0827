#pragma once
// Where the golden fixtures live: $TRELLIS_GOLDENS, else tests/data/goldens. Parity tests run
// every fixture they find of their kind (docs/architecture.md, "Tests").

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace trellis::testing {

inline std::string goldens_dir() {
  const char* env = std::getenv("TRELLIS_GOLDENS");
  return env && *env ? env : std::string(TRELLIS_TEST_DATA) + "/goldens";
}

// Every `*<ext>` under goldens_dir()/subdir, sorted.
inline std::vector<std::string> golden_files(const std::string& subdir,
                                             const std::string& ext = ".safetensors") {
  std::vector<std::string> out;
  std::filesystem::path dir = std::filesystem::path(goldens_dir()) / subdir;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ext) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace trellis::testing
