#pragma once
// Helpers of the kill -9 test (test_kill9.cpp): a `train` process started in the background
// with its output in a log file, waits on what it writes (log lines, the atomic writer's
// temporary files), SIGKILL, and where a kill landed, read from what the process left.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace trellis::testing {

class BackgroundProcess {
 public:
  // Runs `command` through /bin/sh with stdout and stderr appended to `log`; the shell execs
  // the command, so pid() is the command's own process.
  BackgroundProcess(const std::string& command, const std::string& log) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string line = "exec " + command + " >> '" + log + "' 2>&1";
      ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~BackgroundProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (done_) return false;
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) done_ = true;
    return !done_;
  }
  // Waits for the end; returns the wait status.
  int wait() {
    if (!done_ && ::waitpid(pid_, &status_, 0) == pid_) done_ = true;
    return status_;
  }
  void kill9() { ::kill(pid_, SIGKILL); }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool done_ = false;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline size_t count_matches(const std::string& text, const std::regex& re) {
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

// The temporary files of core/checkpoint.cpp's atomic writer (".tmp.NAME.PID") in `dir`.
inline std::set<std::string> temporaries(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".tmp.", 0) == 0) out.insert(name);
  }
  return out;
}

// Polls every 0.2 ms until `p` stops running or `done()` is true; returns whether `done()`.
template <class Done>
bool poll_until(BackgroundProcess& p, Done done, double timeout_s = 120) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (p.running() && std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

// Waits until the atomic writer has begun its `n`-th file since the call (a temporary file
// appears that was not there at the previous look).
inline bool wait_for_nth_write(BackgroundProcess& p, const std::string& dir, int n) {
  std::set<std::string> seen = temporaries(dir);
  int begun = 0;
  return poll_until(p, [&] {
    const auto now = temporaries(dir);
    for (const auto& t : now)
      if (!seen.count(t)) ++begun;
    seen = now;
    return begun >= n;
  });
}

// Waits until `log` holds `n` more matches of `re` than `before`.
inline bool wait_for_log(BackgroundProcess& p, const std::string& log, const std::regex& re,
                         size_t n) {
  return poll_until(p, [&] { return count_matches(read_text(log), re) >= n; });
}

// Where a kill landed, from the launch's own log and the save dir it left.
inline std::string kill_landed_in(const std::string& launch_log, const std::string& save_dir,
                                  pid_t pid) {
  const std::string own = "." + std::to_string(pid);
  for (const auto& t : temporaries(save_dir))
    if (t.size() > own.size() && t.compare(t.size() - own.size(), own.size(), own) == 0)
      return "a checkpoint write";
  std::string last;
  std::istringstream in(launch_log);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) last = line;
  if (launch_log.find("begin training epoch") == std::string::npos)
    return "start-up (building, restoring)";
  if (last.find("train_inner") != std::string::npos) return "validation";
  if (last.find("valid on") != std::string::npos) return "checkpoint serialization";
  return "a training step";
}

}  // namespace trellis::testing
