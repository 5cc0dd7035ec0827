#include "core/plot/plot_metrics.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/strings.h"
#include "core/plot/metrics_reader.h"
#include "core/plot/svg_plot.h"

namespace trellis::plot {

namespace fs = std::filesystem;

namespace {

// Panel titles of the usual metrics (the y axis keeps the key as logged).
std::string title_of(const std::string& metric) {
  if (metric == "loss") return "loss";
  if (metric == "wer") return "WER (%)";
  if (metric == "uer") return "unit error rate (%)";
  if (metric == "lr") return "learning rate";
  if (metric == "gnorm") return "gradient norm (before clipping)";
  return metric;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void write_atomically(const std::string& path, const std::string& text) {
  const fs::path out(path);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    TRELLIS_CHECK(f.good(), Error, "{}: cannot write", tmp);
    f << text;
    f.flush();
    TRELLIS_CHECK(f.good(), Error, "{}: write failed", tmp);
  }
  std::error_code ec;
  fs::rename(tmp, out, ec);
  TRELLIS_CHECK(!ec, Error, "{}: cannot rename to {}: {}", tmp, path, ec.message());
}

}  // namespace

std::string default_output(const std::string& metrics_path) {
  return fs::path(metrics_path).replace_extension(".svg").string();
}

PlotSummary run_plot(const PlotOptions& o) {
  TRELLIS_CHECK(!o.metrics.empty(), ConfigError, "--metrics: no metric given");
  TRELLIS_CHECK(o.width >= 300 && o.panel_height >= 100, ConfigError,
                "--width must be >= 300 and --panel-height >= 100 (got {} and {})", o.width,
                o.panel_height);
  for (const auto& m : o.log_y)
    TRELLIS_CHECK(contains(o.metrics, m), ConfigError,
                  "--log-y {}: not among the plotted --metrics ({})", m, join(o.metrics, ","));
  PlotSummary summary;
  summary.output = o.output;
  if (!summary.output.empty()) {
    const std::string ext = fs::path(summary.output).extension().string();
    TRELLIS_CHECK(ext == ".svg", ConfigError,
                  "-o {}: plot writes SVG only (name it .svg; rsvg-convert or a browser turns it "
                  "into PNG)",
                  summary.output);
  }

  summary.metrics_path = resolve_metrics_path(o.input);
  const MetricsLog log = read_metrics_jsonl(summary.metrics_path);
  summary.records = log.records.size();
  summary.warnings = log.warnings;
  TRELLIS_CHECK(!log.records.empty(), DataError,
                "{}: no records yet (train appends one per progress line)", summary.metrics_path);
  if (summary.output.empty()) summary.output = default_output(summary.metrics_path);

  std::vector<Panel> panels;
  for (const auto& metric : o.metrics) {
    const auto curves = metric_curves(log, metric);
    if (curves.empty()) {
      TRELLIS_CHECK(!o.metrics_given, ConfigError,
                    "--metrics {}: {} has no record with '{}' and num_updates (its metrics: {})",
                    metric, summary.metrics_path, metric, join(metric_names(log), ", "));
      summary.warnings.push_back(
          fmt::format("{}: no '{}' values, panel left out", summary.metrics_path, metric));
      continue;
    }
    Panel p;
    p.title = title_of(metric);
    p.x_label = "updates";
    p.y_label = metric + (contains(o.log_y, metric) ? " (log scale)" : "");
    p.log_y = contains(o.log_y, metric);
    std::vector<std::string> labels;
    for (const auto& c : curves) {
      p.series.push_back(Series{c.label, c.updates, c.values});
      labels.push_back(fmt::format("{} ({} points)", c.label, c.updates.size()));
    }
    summary.panels.push_back(metric + ": " + join(labels, ", "));
    panels.push_back(std::move(p));
  }
  TRELLIS_CHECK(!panels.empty(), DataError, "{}: no records with num_updates and any of {}",
                summary.metrics_path, join(o.metrics, ", "));

  SvgOptions so;
  so.title = o.title.empty() ? "training curves: " + summary.metrics_path : o.title;
  so.width = o.width;
  so.panel_height = o.panel_height;
  write_atomically(summary.output, render_svg(panels, so));
  return summary;
}

}  // namespace trellis::plot
