#pragma once
// A small SVG line-plot writer (no dependencies): one panel per metric stacked vertically, each
// with axes, "nice" ticks and gridlines, an optional log-scale y axis and a legend. Used by
// `plot` (core/plot/plot_metrics.h) to draw training curves without Python or gnuplot.

#include <string>
#include <vector>

namespace trellis::plot {

// One curve: points (x[i], y[i]) in order. Non-finite points (and, on a log axis, y <= 0)
// are left out of the drawing.
struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct Panel {
  std::string title;    // above the panel
  std::string x_label;  // under the x axis
  std::string y_label;  // rotated, left of the y axis
  bool log_y = false;
  std::vector<Series> series;
};

struct SvgOptions {
  std::string title;       // document title (top line); empty = none
  int width = 760;         // pixels
  int panel_height = 240;  // pixels of each panel's plot area
  int markers_up_to = 60;  // draw a dot at each point of series with at most this many points
};

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi] (Heckbert's "nice numbers"):
// about `target` ticks, the first <= lo and the last >= hi. lo == hi is widened around it.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// Ticks of a log axis over [lo, hi] (both > 0): the powers of ten from floor(log10(lo)) to
// ceil(log10(hi)); over at most two decades, 2 and 5 times them as well.
std::vector<double> log_ticks(double lo, double hi);

// A tick label: fixed notation with as many decimals as `step` needs, scientific notation for
// very small or very large magnitudes ("0.5", "1500", "2e-05").
std::string format_tick(double value, double step);

// Text with & < > " ' escaped for XML character data and attribute values.
std::string xml_escape(const std::string& text);

// The whole SVG document.
std::string render_svg(const std::vector<Panel>& panels, const SvgOptions& options = {});

}  // namespace trellis::plot
