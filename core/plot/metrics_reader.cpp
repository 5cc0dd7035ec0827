#include "core/plot/metrics_reader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace trellis::plot {

namespace fs = std::filesystem;

std::string resolve_metrics_path(const std::string& save_dir_or_file) {
  const fs::path p(save_dir_or_file);
  if (fs::is_directory(p)) {
    const fs::path f = p / "metrics.jsonl";
    TRELLIS_CHECK(fs::is_regular_file(f), DataError,
                  "{}: no metrics.jsonl in this folder (train writes it to its --save-dir)",
                  p.string());
    return f.string();
  }
  TRELLIS_CHECK(fs::is_regular_file(p), DataError, "{}: no such file or folder", p.string());
  return p.string();
}

MetricsLog read_metrics_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_metrics_jsonl(ss.str(), path);
}

MetricsLog parse_metrics_jsonl(const std::string& text, const std::string& path) {
  MetricsLog log;
  log.path = path;
  size_t pos = 0;
  int64_t lineno = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool terminated = end != std::string::npos;
    if (!terminated) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    std::string problem;
    if (j.is_discarded())
      problem = "not valid JSON";
    else if (!j.is_object())
      problem = "not a JSON object";
    else if (!j.contains("tag") || !j["tag"].is_string())
      problem = "no string \"tag\" (expected train_inner, train or a valid subset name)";
    if (!problem.empty()) {
      if (!terminated) {  // the last line of a file still being appended to
        log.warnings.push_back(
            fmt::format("{}:{}: skipped an incomplete last line ({})", path, lineno, problem));
        break;
      }
      const std::string shown = line.size() > 80 ? line.substr(0, 77) + "..." : line;
      throw DataError(fmt::format("{}:{}: {}: {}", path, lineno, problem, shown));
    }
    MetricsRecord r;
    r.tag = j["tag"].get<std::string>();
    // A validation of a subset named "train" is not the training curve.
    if (r.tag == "train" && j.value("valid", false)) r.tag = "train (valid)";
    r.line = lineno;
    for (const auto& [key, value] : j.items())
      if (value.is_number()) r.values[key] = value.get<double>();
    log.records.push_back(std::move(r));
  }
  return log;
}

namespace {

// Appends (x, y); a step back in x (a resumed run logging updates again) first drops the
// points it supersedes.
void add_point(MetricCurve& c, double x, double y) {
  while (!c.updates.empty() && c.updates.back() >= x) {
    c.updates.pop_back();
    c.values.pop_back();
  }
  c.updates.push_back(x);
  c.values.push_back(y);
}

std::string label_of(const std::string& tag) {
  if (tag == "train_inner") return "train";
  if (tag == "train") return "train (epoch)";
  return tag;
}

}  // namespace

std::vector<MetricCurve> metric_curves(const MetricsLog& log, const std::string& metric) {
  std::vector<MetricCurve> curves;
  std::map<std::string, size_t> index;  // label -> position in curves
  for (const auto& r : log.records) {
    auto v = r.values.find(metric);
    auto u = r.values.find("num_updates");
    if (v == r.values.end() || u == r.values.end()) continue;
    std::string label = label_of(r.tag);
    if (metric == "lr") {
      if (r.tag != "train_inner" && r.tag != "train") continue;
      label = "lr";
    }
    auto [it, added] = index.emplace(label, curves.size());
    if (added) curves.push_back(MetricCurve{label, {}, {}});
    MetricCurve& c = curves[it->second];
    // Epoch summaries land on the update count of the epoch's last train_inner line: for the
    // single lr curve, one point per count (the later record wins, with the same value).
    if (metric == "lr" && !c.updates.empty() && c.updates.back() == u->second) {
      c.values.back() = v->second;
      continue;
    }
    add_point(c, u->second, v->second);
  }
  // Training curves first (per log interval, then per epoch), then the subsets as logged.
  auto rank = [](const MetricCurve& c) {
    return c.label == "train" ? 0 : c.label == "train (epoch)" ? 1 : 2;
  };
  std::stable_sort(curves.begin(), curves.end(),
                   [&](const MetricCurve& a, const MetricCurve& b) { return rank(a) < rank(b); });
  return curves;
}

std::vector<std::string> metric_names(const MetricsLog& log) {
  std::set<std::string> names;
  for (const auto& r : log.records)
    for (const auto& [k, v] : r.values) names.insert(k);
  return {names.begin(), names.end()};
}

}  // namespace trellis::plot
