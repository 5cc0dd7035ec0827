#include "core/plot/svg_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace trellis::plot {
namespace {

// Tableau 10: distinguishable, and readable on white.
const char* const kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

// Layout, in pixels.
constexpr int kLeft = 72;          // y tick labels and the y label
constexpr int kLegendWidth = 170;  // right of the plot area
constexpr int kPanelTop = 30;      // the panel title
constexpr int kPanelBottom = 48;   // x tick labels and the x label
constexpr int kDocTitle = 34;

// Heckbert's nice number: 1, 2, 5 or 10 times a power of ten near x (> 0). `round` picks the
// nearest one, else the smallest one >= x.
double nice_number(double x, bool round) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, e);
  double n;
  if (round)
    n = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else
    n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return n * std::pow(10.0, e);
}

// One axis: the data range mapped onto [pixel_lo, pixel_hi] (log10 of the data on a log axis).
struct Axis {
  bool log = false;
  double lo = 0, hi = 1;  // in axis units (log10 on a log axis)
  std::vector<double> ticks;
  double step = 1;  // for linear tick labels
  double map(double v, double pixel_lo, double pixel_hi) const {
    const double t = log ? std::log10(v) : v;
    return pixel_lo + (t - lo) / (hi - lo) * (pixel_hi - pixel_lo);
  }
};

bool drawable(double x, double y, bool log_y) {
  return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0);
}

Axis make_axis(double lo, double hi, bool log) {
  Axis a;
  a.log = log;
  if (log) {
    a.ticks = log_ticks(lo, hi);
    a.lo = std::log10(a.ticks.front());
    a.hi = std::log10(a.ticks.back());
  } else {
    a.ticks = nice_ticks(lo, hi);
    a.step = a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : 1;
    a.lo = a.ticks.front();
    a.hi = a.ticks.back();
  }
  if (a.hi <= a.lo) a.hi = a.lo + 1;
  return a;
}

std::string tick_label(const Axis& a, double v) {
  return a.log ? fmt::format("{:g}", v) : format_tick(v, a.step);
}

void render_panel(std::string& out, const Panel& p, const SvgOptions& o, int top) {
  const double x0 = kLeft, x1 = o.width - kLegendWidth;
  const double y0 = top + kPanelTop, y1 = y0 + o.panel_height;
  out += fmt::format("<g class=\"panel\" data-title=\"{}\">\n", xml_escape(p.title));
  out += fmt::format(
      "<text class=\"panel-title\" x=\"{}\" y=\"{}\" font-size=\"14\" "
      "font-weight=\"bold\">{}</text>\n",
      x0, y0 - 10, xml_escape(p.title));

  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const auto& s : p.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!drawable(s.x[i], s.y[i], p.log_y)) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  out += fmt::format(
      "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
      "fill=\"none\" stroke=\"#333\"/>\n",
      x0, y0, x1 - x0, y1 - y0);
  out += fmt::format("<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     (x0 + x1) / 2, y1 + 38, xml_escape(p.x_label));
  const double ly = (y0 + y1) / 2, lx = 16;
  out += fmt::format(
      "<text class=\"y-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 {} {})\">{}</text>\n",
      lx, ly, lx, ly, xml_escape(p.y_label));
  if (!std::isfinite(xmin)) {
    out += fmt::format(
        "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" "
        "fill=\"#888\">no data</text>\n</g>\n",
        (x0 + x1) / 2, (y0 + y1) / 2);
    return;
  }
  const Axis xa = make_axis(xmin, xmax, false), ya = make_axis(ymin, ymax, p.log_y);

  // Gridlines and ticks: one line across the area per tick, a label outside it.
  out += "<g class=\"grid\" stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (double t : xa.ticks) {
    const double x = xa.map(t, x0, x1);
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\"/>\n", x, y0, x, y1);
  }
  for (double t : ya.ticks) {
    const double y = ya.map(t, y1, y0);
    out += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\"/>\n", x0, y, x1, y);
  }
  out += "</g>\n<g class=\"x-ticks\" font-size=\"11\" text-anchor=\"middle\">\n";
  for (double t : xa.ticks)
    out += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", xa.map(t, x0, x1), y1 + 16,
                       xml_escape(tick_label(xa, t)));
  out += "</g>\n<g class=\"y-ticks\" font-size=\"11\" text-anchor=\"end\">\n";
  for (double t : ya.ticks)
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\">{}</text>\n", x0 - 6, ya.map(t, y1, y0) + 4,
                       xml_escape(tick_label(ya, t)));
  out += "</g>\n";

  // Curves, dots for short series, and the legend.
  for (size_t k = 0; k < p.series.size(); ++k) {
    const Series& s = p.series[k];
    const char* color = kColors[k % (sizeof(kColors) / sizeof(kColors[0]))];
    std::string points, dots;
    size_t n = 0;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!drawable(s.x[i], s.y[i], p.log_y)) continue;
      const double px = xa.map(s.x[i], x0, x1), py = ya.map(s.y[i], y1, y0);
      points += fmt::format("{}{:.1f},{:.1f}", n++ ? " " : "", px, py);
      dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\"/>", px, py);
    }
    out += fmt::format(
        "<polyline class=\"series\" data-label=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"1.6\" stroke-linejoin=\"round\" points=\"{}\"/>\n",
        xml_escape(s.label), color, points);
    if (n <= static_cast<size_t>(o.markers_up_to) && !dots.empty())
      out += fmt::format("<g class=\"markers\" fill=\"{}\">{}</g>\n", color, dots);
    const double ey = y0 + 14 + 18.0 * static_cast<double>(k);
    out += fmt::format(
        "<g class=\"legend\"><line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" "
        "stroke=\"{}\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{:.1f}\">{}</text>"
        "</g>\n",
        x1 + 14, ey, x1 + 36, ey, color, x1 + 42, ey + 4, xml_escape(s.label));
  }
  out += "</g>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const double range = nice_number(hi - lo, false);
  const double step = nice_number(range / std::max(1, target - 1), true);
  const auto kmin = static_cast<int64_t>(std::floor(lo / step + 1e-9));
  const auto kmax = static_cast<int64_t>(std::ceil(hi / step - 1e-9));
  std::vector<double> ticks;
  for (int64_t k = kmin; k <= kmax; ++k) ticks.push_back(static_cast<double>(k) * step);
  if (ticks.size() < 2) ticks.push_back(ticks.back() + step);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !(hi > 0) || !std::isfinite(lo) || !std::isfinite(hi)) return {1, 10};
  if (hi < lo) std::swap(lo, hi);
  const auto emin = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
  auto emax = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
  if (emax <= emin) emax = emin + 1;
  std::vector<double> ticks;
  for (int e = emin; e <= emax; ++e) {
    const double p = std::pow(10.0, e);
    ticks.push_back(p);
    if (emax - emin <= 2 && e < emax) {
      ticks.push_back(2 * p);
      ticks.push_back(5 * p);
    }
  }
  return ticks;
}

std::string format_tick(double value, double step) {
  step = std::abs(step);
  if (step > 0 && std::abs(value) < step * 1e-6) value = 0;  // -0 and rounding noise
  if (value == 0) return "0";
  if ((step > 0 && step < 1e-4) || std::abs(value) >= 1e6) return fmt::format("{:g}", value);
  const int decimals =
      step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9))) : 3;
  return fmt::format("{:.{}f}", value, decimals);
}

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_svg(const std::vector<Panel>& panels, const SvgOptions& o) {
  const int title_h = o.title.empty() ? 8 : kDocTitle;
  const int block = kPanelTop + o.panel_height + kPanelBottom;
  const int height = title_h + block * static_cast<int>(panels.size()) + 8;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      o.width, height);
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!o.title.empty())
    out += fmt::format("<text class=\"title\" x=\"{}\" y=\"22\" font-size=\"15\">{}</text>\n",
                       kLeft, xml_escape(o.title));
  for (size_t i = 0; i < panels.size(); ++i)
    render_panel(out, panels[i], o, title_h + block * static_cast<int>(i));
  out += "</svg>\n";
  return out;
}

}  // namespace trellis::plot
