#pragma once
// fmt-based, rank-aware logging in fairseq's line format:
//   2026-11-22 10:00:00 | INFO | trellis.train | message
// Non-master ranks print only warnings and errors, prefixed with their rank.

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace trellis::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

// Process-wide settings (set once by main, read by every logger).
void set_rank(int rank);
int rank();
void set_level(Level level);
// Also append every line to this file ("" closes it). Throws ConfigError if it cannot be opened.
void set_file(const std::string& path);

void write(Level level, std::string_view name, std::string_view message);
// The line as it is printed (without the trailing newline); exposed for tests.
std::string format_line(Level level, std::string_view name, std::string_view message);

// A named logger: `static const log::Logger logger("trellis.train"); logger.info("x={}", x);`
class Logger {
 public:
  explicit Logger(std::string name) : name_(std::move(name)) {}
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... a) const {
    write(Level::kDebug, name_, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... a) const {
    write(Level::kInfo, name_, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... a) const {
    write(Level::kWarning, name_, fmt::format(f, std::forward<A>(a)...));
  }
  template <class... A>
  void error(fmt::format_string<A...> f, A&&... a) const {
    write(Level::kError, name_, fmt::format(f, std::forward<A>(a)...));
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace trellis::log
