#include "core/progress.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace trellis {

std::string format_stat(const Stat& stat) {
  double v = stat.value;
  if (stat.round >= 0 && std::isfinite(v)) {
    double scale = std::pow(10.0, stat.round);
    v = std::round(v * scale) / scale;
  }
  return fmt::format("{:g}", v);
}

Progress::Progress(const std::string& format, bool stderr_is_terminal) : format_(format) {
  if (format_.empty()) format_ = stderr_is_terminal ? "tqdm" : "simple";
  if (format_ == "tqdm" && !stderr_is_terminal) format_ = "simple";
}

std::string Progress::inner_line(const Stats& stats, int64_t epoch, int64_t update,
                                 int64_t total) const {
  if (format_ == "simple") {
    std::string s;
    for (const auto& st : stats) s += (s.empty() ? "" : ", ") + st.key + "=" + format_stat(st);
    return fmt::format("epoch {:03d}:  {:5d} / {} {}", epoch, update, total, s);
  }
  if (format_ == "json") {
    nlohmann::ordered_json j;
    j["epoch"] = epoch;
    double frac = total > 0 ? double(epoch - 1) + double(update) / double(total) : double(epoch);
    j["update"] = std::round(frac * 1000.0) / 1000.0;
    for (const auto& st : stats) j[st.key] = format_stat(st);
    return j.dump();
  }
  return "";
}

std::string Progress::summary_line(const Stats& stats, int64_t epoch, const std::string& tag,
                                   bool validation) const {
  if (format_ == "json") {
    nlohmann::ordered_json j;
    j["epoch"] = epoch;
    for (const auto& st : stats) j[tag + "_" + st.key] = format_stat(st);
    return j.dump();
  }
  if (format_ == "none") return "";
  std::string s = fmt::format("epoch {:03d}", epoch);
  if (validation || tag != "train") s += fmt::format(" | valid on '{}' subset", tag);
  for (const auto& st : stats) s += " | " + st.key + " " + format_stat(st);
  return s;
}

std::string Progress::bar(const Stats& stats, int64_t epoch, int64_t update, int64_t total) const {
  const int width = 10;
  double frac = total > 0 ? std::min(1.0, double(update) / double(total)) : 0.0;
  int filled = static_cast<int>(frac * width);
  std::string s;
  for (const auto& st : stats) s += (s.empty() ? "" : ", ") + st.key + "=" + format_stat(st);
  return fmt::format("epoch {:03d}: {:3d}%|{}{}| {}/{} [{}]", epoch, int(frac * 100),
                     std::string(filled, '#'), std::string(width - filled, ' '), update, total, s);
}

}  // namespace trellis
