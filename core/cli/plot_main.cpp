// plot: training curves from save_dir/metrics.jsonl to an SVG file (core/plot/plot_metrics.h,
// docs/plotting.md). Needs no Python, gnuplot or display. The options are PlotOptions::visit()
// (plot_program()): flags, --help, --config, --dump-config.
#include <iostream>

#include "core/cli_parser.h"
#include "core/error.h"
#include "core/plot/plot_metrics.h"
#include "core/programs.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  return trellis::run_program("plot", [&] {
    auto parsed = trellis::parse_command_line(trellis::plot_program(), {argv + 1, argv + argc});
    if (parsed.exit_now) {
      std::cout << parsed.output;
      return 0;
    }
    trellis::plot::PlotOptions o = parsed.config.get<trellis::plot::PlotOptions>("plot");
    TRELLIS_CHECK(!o.input.empty(), trellis::ConfigError,
                  "SAVE_DIR_OR_JSONL is required (a save dir or a metrics .jsonl file)");
    // Metrics other than the default ones must all be in the file.
    o.metrics_given = o.metrics != trellis::plot::PlotOptions{}.metrics;
    const trellis::plot::PlotSummary s = trellis::plot::run_plot(o);
    for (const auto& w : s.warnings) std::cerr << "plot: warning: " << w << "\n";
    std::cout << "plot: read " << s.records << " records from " << s.metrics_path << "\n";
    for (const auto& p : s.panels) std::cout << "plot:   " << p << "\n";
    std::cout << "plot: wrote " << s.output << std::endl;
    return 0;
  });
}
