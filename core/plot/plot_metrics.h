#pragma once
// `plot`: save_dir/metrics.jsonl -> an SVG of training curves versus updates, one panel per
// metric (loss: train and each validation subset; wer: each validation subset; lr). Built on
// metrics_reader.h and svg_plot.h; LibTorch-free. docs/plotting.md is the user's view.

#include <string>
#include <vector>

namespace trellis::plot {

// The options of `plot`, declared once: visit() makes its flags, --help, --config keys and
// --dump-config (core/programs.h, plot_program()).
struct PlotOptions {
  std::string input;   // a save dir (its metrics.jsonl) or a metrics .jsonl file
  std::string output;  // "" = next to the metrics file: metrics.svg
  std::vector<std::string> metrics = {"loss", "wer", "lr"};
  // true: every metric must be in the file (else ConfigError); `plot` sets it when --metrics
  // differs from the default.
  bool metrics_given = false;
  std::vector<std::string> log_y;  // metrics drawn on a log10 y axis (each must be plotted)
  std::string title;               // "" = the metrics file's path
  int width = 760;
  int panel_height = 240;

  template <class V>
  void visit(V& v) {
    v.field("save_dir_or_jsonl", input,
            "a save dir (reads DIR/metrics.jsonl) or a metrics .jsonl file; required")
        .positional();
    v.field("output", output, "the SVG file to write ('': metrics.svg next to metrics.jsonl)")
        .alias("-o");
    v.field("metrics", metrics,
            "comma-separated keys of the records to plot, one panel each (e.g. "
            "loss,wer,lr,gnorm,uer,ctc_loss); with the default, keys the file lacks are left out");
    v.field("log_y", log_y, "comma-separated metrics drawn on a log10 y axis (e.g. lr)");
    v.field("title", title, "title line ('': the metrics file's path)");
    v.field("width", width, "image width in pixels");
    v.field("panel_height", panel_height, "height of each panel's plot area in pixels");
  }
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
