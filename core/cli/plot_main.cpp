// plot: training curves from save_dir/metrics.jsonl to an SVG file (core/plot/plot_metrics.h,
// docs/plotting.md). Needs no Python, gnuplot or display.
#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>

#include "core/plot/plot_metrics.h"
#include "core/runtime.h"

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  trellis::plot::PlotOptions o;
  std::string metrics = "loss,wer,lr", log_y;
  CLI::App app{
      "Plot training curves from the metrics.jsonl that train writes to its --save-dir: one "
      "SVG panel per metric versus updates (loss: train and each --valid-subset; wer: each "
      "--valid-subset; lr), with a legend per panel.",
      "plot"};
  app.add_option("SAVE_DIR_OR_JSONL", o.input,
                 "a save dir (reads DIR/metrics.jsonl) or a metrics .jsonl file")
      ->required();
  app.add_option("-o,--output", o.output,
                 "the SVG file to write (default: metrics.svg next to metrics.jsonl)");
  auto* metrics_opt =
      app.add_option("--metrics", metrics,
                     "comma-separated keys of the records to plot, one panel each (e.g. "
                     "loss,wer,lr,gnorm,uer,"
                     "ctc_loss); with the default, keys the file lacks are left out")
          ->capture_default_str();
  app.add_option("--log-y", log_y, "comma-separated metrics drawn on a log10 y axis (e.g. lr)");
  app.add_option("--title", o.title, "title line (default: the metrics file's path)");
  app.add_option("--width", o.width, "image width in pixels")->capture_default_str();
  app.add_option("--panel-height", o.panel_height, "height of each panel's plot area in pixels")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help: 0; bad flags: 2, like argparse
  }
  o.metrics = split_commas(metrics);
  o.metrics_given = metrics_opt->count() > 0;
  o.log_y = split_commas(log_y);

  return trellis::run_program("plot", [&] {
    const trellis::plot::PlotSummary s = trellis::plot::run_plot(o);
    for (const auto& w : s.warnings) std::cerr << "plot: warning: " << w << "\n";
    std::cout << "plot: read " << s.records << " records from " << s.metrics_path << "\n";
    for (const auto& p : s.panels) std::cout << "plot:   " << p << "\n";
    std::cout << "plot: wrote " << s.output << std::endl;
    return 0;
  });
}
