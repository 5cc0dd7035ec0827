#include "core/logging.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "core/error.h"

namespace trellis::log {
namespace {

struct State {
  int rank = 0;
  Level level = Level::kInfo;
  std::FILE* file = nullptr;
  std::mutex mutex;
};

State& state() {
  static State s;
  return s;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarning: return "WARNING";
    case Level::kError: return "ERROR";
    default: return "";
  }
}

}  // namespace

void set_rank(int rank) { state().rank = rank; }
int rank() { return state().rank; }
void set_level(Level level) { state().level = level; }

void set_file(const std::string& path) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.file) std::fclose(s.file);
  s.file = nullptr;
  if (path.empty()) return;
  s.file = std::fopen(path.c_str(), "a");
  if (!s.file) throw ConfigError(fmt::format("--log-file: cannot open '{}' for writing", path));
}

std::string format_line(Level level, std::string_view name, std::string_view message) {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
  int r = rank();
  std::string prefix = r > 0 ? fmt::format("[rank {}] ", r) : "";
  return fmt::format("{} | {} | {} | {}{}", stamp, level_name(level), name, prefix, message);
}

void write(Level level, std::string_view name, std::string_view message) {
  State& s = state();
  if (level < s.level) return;
  // Non-master ranks only report problems (fairseq does the same).
  if (s.rank > 0 && level < Level::kWarning) return;
  std::string line = format_line(level, name, message);
  std::lock_guard<std::mutex> lock(s.mutex);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  if (s.file) {
    std::fprintf(s.file, "%s\n", line.c_str());
    std::fflush(s.file);
  }
}

}  // namespace trellis::log
