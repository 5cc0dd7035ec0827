#pragma once
// `plot`: save_dir/metrics.jsonl -> an SVG of training curves versus updates, one panel per
// metric (loss: train and each validation subset; wer: each validation subset; lr). Built on
// metrics_reader.h and svg_plot.h; LibTorch-free. docs/plotting.md is the user's view.

#include <string>
#include <vector>

namespace trellis::plot {

struct PlotOptions {
  std::string input;   // a save dir (its metrics.jsonl) or a metrics .jsonl file
  std::string output;  // "" = next to the metrics file: metrics.svg
  std::vector<std::string> metrics = {"loss", "wer", "lr"};
  bool metrics_given = false;      // true: every metric must be in the file (else ConfigError)
  std::vector<std::string> log_y;  // metrics drawn on a log10 y axis (each must be plotted)
  std::string title;               // "" = the metrics file's path
  int width = 760;
  int panel_height = 240;
};

struct PlotSummary {
  std::string metrics_path;
  std::string output;
  size_t records = 0;
  std::vector<std::string> panels;    // "loss: train, dev", one per panel drawn
  std::vector<std::string> warnings;  // skipped lines, default metrics the file lacks
};

// The output path `plot` writes for these options.
std::string default_output(const std::string& metrics_path);

// Reads, draws and writes (atomically: a temporary file renamed). DataError for a bad or
// empty metrics file, ConfigError for a bad option (an unknown --metrics name lists the
// file's metrics).
PlotSummary run_plot(const PlotOptions& options);

}  // namespace trellis::plot
