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

// Runs `command` in the background with its output in dir/log, sends `signal` (a kill(1)
// name: INT, TERM, ...) to it once the log contains `marker` (or after 60 s), waits for it,
// and returns the log followed by "exit=<code>".
inline CommandResult run_and_signal(const std::string& command, const std::string& dir,
                                    const std::string& marker, const std::string& signal) {
  return run_command("(" + command + " > " + dir + "/log 2>&1 & pid=$!; for i in $(seq 600); do "
                     "grep -q '" + marker + "' " + dir + "/log && break; sleep 0.1; done; kill -" +
                     signal + " $pid; wait $pid; echo exit=$?); cat " + dir + "/log");
}

inline std::string bin(const std::string& name) {
  return std::string(TRELLIS_BINARY_DIR) + "/bin/" + name;
}

}  // namespace trellis::testing
