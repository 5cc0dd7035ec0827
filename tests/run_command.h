#pragma once
// Runs a shell command for binary-level tests: exit code and combined stdout+stderr.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace trellis::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// An empty folder $TMPDIR/trellis_<name> (removed first if it exists).
inline std::string fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("trellis_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string bin(const std::string& name) {
  return std::string(TRELLIS_BINARY_DIR) + "/bin/" + name;
}

}  // namespace trellis::testing
