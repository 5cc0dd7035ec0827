// The SVG writer behind `plot`: nice ticks, tick labels, escaping, and a well-formed document
// with one polyline per series and every point drawn.
#include <catch2/catch.hpp>
#include <cmath>

#include "core/plot/svg_plot.h"
#include "svg_check.h"

using namespace trellis::plot;
using trellis::testing::svg_polylines;
using trellis::testing::svg_problem;

namespace {
// Ticks compared with a tolerance (they are k * step in floating point).
void check_ticks(const std::vector<double>& got, const std::vector<double>& want) {
  INFO(Catch::Detail::stringify(got));
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-12));
}
}  // namespace

TEST_CASE("nice_ticks: 1, 2, 5 steps that cover the range", "[unit][plot]") {
  check_ticks(nice_ticks(0, 7.3), {0, 2, 4, 6, 8});
  check_ticks(nice_ticks(0, 600), {0, 200, 400, 600});
  check_ticks(nice_ticks(1.2, 5.9), {1, 2, 3, 4, 5, 6});
  check_ticks(nice_ticks(0.00015, 0.002), {0, 0.0005, 0.001, 0.0015, 0.002});
  check_ticks(nice_ticks(-3, 4), {-4, -2, 0, 2, 4});
  check_ticks(nice_ticks(7.3, 0), {0, 2, 4, 6, 8});  // swapped bounds
  // A flat curve: the range is widened around the value (10%, or 1 around 0).
  auto flat = nice_ticks(100, 100);
  CHECK(flat.front() <= 90);
  CHECK(flat.back() >= 110);
  check_ticks(nice_ticks(0, 0), {-1, -0.5, 0, 0.5, 1});
}

TEST_CASE("log_ticks: powers of ten, with 2 and 5 over short ranges", "[unit][plot]") {
  check_ticks(log_ticks(3e-6, 2e-2), {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1});
  check_ticks(log_ticks(1.5e-4, 2e-3), {1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2});
  check_ticks(log_ticks(0.001, 0.001), {1e-3, 2e-3, 5e-3, 1e-2});
  check_ticks(log_ticks(0, 1), {1, 10});  // not drawable on a log axis: a placeholder
}

TEST_CASE("format_tick: the decimals the step needs", "[unit][plot]") {
  CHECK(format_tick(0.5, 0.5) == "0.5");
  CHECK(format_tick(1500, 500) == "1500");
  CHECK(format_tick(0.001, 0.0005) == "0.0010");
  CHECK(format_tick(2e-5, 1e-5) == "2e-05");
  CHECK(format_tick(2.5e6, 5e5) == "2.5e+06");
  CHECK(format_tick(-1e-17, 0.2) == "0");  // rounding noise of k * step
  CHECK(format_tick(-0.4, 0.2) == "-0.4");
}

TEST_CASE("xml_escape", "[unit][plot]") {
  CHECK(xml_escape("a<b> & \"c\" 'd'") == "a&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;");
}

TEST_CASE("render_svg: well-formed, one polyline per series, every point, labels", "[unit][plot]") {
  Panel loss{"loss", "updates", "loss", false, {}};
  loss.series.push_back({"train", {1, 2, 3, 4, 5}, {6.7, 5.3, 4.1, 3.9, 3.2}});
  loss.series.push_back({"dev <&>", {2, 4}, {4.9, 4.0}});
  Panel lr{"learning rate", "updates", "lr (log scale)", true, {}};
  lr.series.push_back({"lr", {1, 2, 3, 4}, {0.0, 1e-4, 2e-4, 3e-4}});  // 0: not on a log axis
  Panel empty{"wer", "updates", "wer", false, {}};
  SvgOptions o;
  o.title = "curves of run \"a\"";
  const std::string svg = render_svg({loss, lr, empty}, o);

  CHECK(svg_problem(svg).empty());
  INFO(svg_problem(svg));
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  const auto lines = svg_polylines(svg);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].label == "train");
  CHECK(lines[0].points == 5);
  CHECK(lines[1].label == "dev &lt;&amp;&gt;");
  CHECK(lines[1].points == 2);
  CHECK(lines[2].label == "lr");
  CHECK(lines[2].points == 3);
  for (const char* text :
       {">updates</text>", ">loss</text>", ">lr (log scale)</text>", ">learning rate</text>",
        ">no data</text>", ">0.0001</text>", "curves of run &quot;a&quot;"})
    CHECK_THAT(svg, Catch::Contains(text));
  // The loss axis: data 3.2..6.7 gives ticks 3..7 by 1, labelled without decimals.
  CHECK_THAT(svg, Catch::Contains(">7</text>") && !Catch::Contains(">7.0</text>"));
  // Dots at the points of short series: 5 + 2 + 3.
  size_t dots = 0;
  for (size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1))
    ++dots;
  CHECK(dots == 10);
}

TEST_CASE("render_svg: points map inside the plot area, y grows upwards", "[unit][plot]") {
  Panel p{"m", "updates", "m", false, {}};
  p.series.push_back({"s", {0, 10}, {0, 10}});
  SvgOptions o;
  o.width = 500;
  o.panel_height = 200;
  const std::string svg = render_svg({p}, o);
  // x in [72, 500 - 170], y in [8 + 30, 8 + 30 + 200]: (0, 0) bottom left, (10, 10) top right.
  CHECK_THAT(svg, Catch::Contains("points=\"72.0,238.0 330.0,38.0\""));
}
