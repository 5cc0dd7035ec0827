// metrics.jsonl (what train appends to save_dir) -> curves, and run_plot's checks.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/plot/metrics_reader.h"
#include "core/plot/plot_metrics.h"
#include "svg_check.h"

namespace fs = std::filesystem;
using namespace trellis::plot;

namespace {

// The shape train writes (core/train/run_state_validate.cpp): train_inner lines, a
// validation on dev after update 3, the epoch summary, more updates.
const char* kLog =
    R"({"tag":"train_inner","epoch":1,"loss":6.75,"ntokens":100.0,"num_updates":1.0,"lr":0.0005,"gnorm":4.3}
{"tag":"train_inner","epoch":1,"loss":5.33,"ntokens":143.0,"num_updates":2.0,"lr":0.001,"gnorm":2.8}

{"tag":"train_inner","epoch":1,"loss":5.01,"ntokens":105.0,"num_updates":3.0,"lr":0.0015,"gnorm":5.5}
{"tag":"dev","epoch":1,"loss":4.95,"uer":84.1,"wer":100.0,"num_updates":3.0,"best_loss":4.95}
{"tag":"train","epoch":1,"loss":5.7,"num_updates":3.0,"lr":0.0015,"wall":0.1}
{"tag":"train_inner","epoch":2,"loss":4.2,"ntokens":142.0,"num_updates":4.0,"lr":0.002,"gnorm":2.9}
{"tag":"dev","epoch":2,"loss":4.1,"uer":70.0,"wer":91.5,"num_updates":4.0,"best_loss":4.1}
{"tag":"test","epoch":2,"loss":4.3,"wer":93.0,"num_updates":4.0,"note":"strings are ignored"}
)";

std::string temp_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / "trellis_plot_unit";
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << text;
  return (dir / name).string();
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("metrics.jsonl: records, tags and numeric values", "[unit][plot]") {
  const MetricsLog log = parse_metrics_jsonl(kLog, "m.jsonl");
  REQUIRE(log.records.size() == 8);  // the blank line is skipped
  CHECK(log.records[3].tag == "dev");
  CHECK(log.records[3].line == 5);
  CHECK(log.records[3].values.at("wer") == 100.0);
  CHECK(log.records[7].values.count("note") == 0);
  CHECK(log.records[7].values.count("tag") == 0);
  CHECK(log.warnings.empty());
  const auto names = metric_names(log);
  CHECK(std::find(names.begin(), names.end(), "gnorm") != names.end());
}

TEST_CASE("metric_curves: train, train (epoch), each subset; one lr curve", "[unit][plot]") {
  const MetricsLog log = parse_metrics_jsonl(kLog, "m.jsonl");
  auto loss = metric_curves(log, "loss");
  REQUIRE(loss.size() == 4);
  CHECK(loss[0].label == "train");
  CHECK(loss[0].updates == std::vector<double>{1, 2, 3, 4});
  CHECK(loss[0].values == std::vector<double>{6.75, 5.33, 5.01, 4.2});
  CHECK(loss[1].label == "train (epoch)");
  CHECK(loss[1].updates == std::vector<double>{3});
  CHECK(loss[2].label == "dev");
  CHECK(loss[2].values == std::vector<double>{4.95, 4.1});
  CHECK(loss[3].label == "test");
  auto wer = metric_curves(log, "wer");
  REQUIRE(wer.size() == 2);
  CHECK(wer[0].label == "dev");
  CHECK(wer[0].updates == std::vector<double>{3, 4});
  // lr: the epoch summary repeats update 3, which stays one point.
  auto lr = metric_curves(log, "lr");
  REQUIRE(lr.size() == 1);
  CHECK(lr[0].label == "lr");
  CHECK(lr[0].updates == std::vector<double>{1, 2, 3, 4});
  CHECK(metric_curves(log, "nothing").empty());
}

TEST_CASE("metric_curves: a resumed run's repeated updates replace the earlier ones",
          "[unit][plot]") {
  // Killed after update 3 with checkpoint_last.pt at update 1: the relaunch logs 2 and 3 again.
  const std::string text =
      "{\"tag\":\"train_inner\",\"loss\":5,\"num_updates\":1}\n"
      "{\"tag\":\"train_inner\",\"loss\":4,\"num_updates\":2}\n"
      "{\"tag\":\"train_inner\",\"loss\":3,\"num_updates\":3}\n"
      "{\"tag\":\"train_inner\",\"loss\":4.5,\"num_updates\":2}\n"
      "{\"tag\":\"train_inner\",\"loss\":3.5,\"num_updates\":3}\n"
      "{\"tag\":\"train_inner\",\"loss\":2.5}\n";  // no num_updates: left out
  auto c = metric_curves(parse_metrics_jsonl(text, "m"), "loss");
  REQUIRE(c.size() == 1);
  CHECK(c[0].updates == std::vector<double>{1, 2, 3});
  CHECK(c[0].values == std::vector<double>{5, 4.5, 3.5});
}

TEST_CASE("metrics.jsonl: a malformed line is an error naming the file and line", "[unit][plot]") {
  const std::string good = "{\"tag\":\"train_inner\",\"loss\":5,\"num_updates\":1}\n";
  CHECK_THROWS_MATCHES(parse_metrics_jsonl(good + "\n{\"tag\": \"dev\", \"loss\": 4.\n" + good,
                                           "save/metrics.jsonl"),
                       trellis::DataError,
                       Catch::Message("save/metrics.jsonl:3: not valid JSON: {\"tag\": \"dev\", "
                                      "\"loss\": 4."));
  CHECK_THROWS_WITH(parse_metrics_jsonl("[1, 2]\n", "m.jsonl"),
                    Catch::StartsWith("m.jsonl:1: not a JSON object"));
  CHECK_THROWS_WITH(parse_metrics_jsonl(good + "{\"loss\": 1}\n", "m.jsonl"),
                    Catch::StartsWith("m.jsonl:2: no string \"tag\""));
  // An unterminated last line is a run still writing: skipped with a warning.
  const MetricsLog log = parse_metrics_jsonl(good + "{\"tag\":\"train_in", "m.jsonl");
  CHECK(log.records.size() == 1);
  REQUIRE(log.warnings.size() == 1);
  CHECK_THAT(log.warnings[0], Catch::StartsWith("m.jsonl:2: skipped an incomplete last line"));
}

TEST_CASE("run_plot: writes the SVG next to metrics.jsonl; option and input errors",
          "[unit][plot]") {
  const fs::path dir = fs::temp_directory_path() / "trellis_plot_unit" / "save";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "metrics.jsonl") << kLog;
  PlotOptions o;
  o.input = dir.string();
  const PlotSummary s = run_plot(o);
  CHECK(s.output == (dir / "metrics.svg").string());
  CHECK(s.records == 8);
  REQUIRE(s.panels.size() == 3);
  CHECK(s.panels[0] ==
        "loss: train (4 points), train (epoch) (1 points), dev (2 points), test (1 points)");
  CHECK(s.panels[2] == "lr: lr (4 points)");
  const std::string svg = read(s.output);
  CHECK(trellis::testing::svg_problem(svg).empty());
  CHECK(trellis::testing::svg_polylines(svg).size() == 4 + 2 + 1);
  CHECK(!fs::exists(s.output + ".tmp"));

  o.metrics = {"loss", "gnorm"};
  o.log_y = {"gnorm"};
  o.output = (dir / "sub" / "g.svg").string();
  CHECK(run_plot(o).panels.size() == 2);
  CHECK(fs::exists(dir / "sub" / "g.svg"));

  o.metrics_given = true;
  o.metrics = {"loss", "bleu"};
  o.log_y = {};
  CHECK_THROWS_AS(run_plot(o), trellis::ConfigError);
  CHECK_THROWS_WITH(run_plot(o), Catch::Contains("--metrics bleu:") &&
                                     Catch::Contains("its metrics: best_loss, epoch, gnorm"));
  o.metrics = {"loss"};
  o.log_y = {"lr"};
  CHECK_THROWS_AS(run_plot(o), trellis::ConfigError);
  o.log_y = {};
  o.output = (dir / "a.png").string();
  CHECK_THROWS_WITH(run_plot(o), Catch::Contains("plot writes SVG only"));
  o.output = "";
  o.input = (dir / "missing").string();
  CHECK_THROWS_AS(run_plot(o), trellis::DataError);
  o.input = temp_file("empty.jsonl", "");
  CHECK_THROWS_WITH(run_plot(o), Catch::Contains("no records yet"));
  // The default metrics the file lacks are left out with a warning, not an error.
  PlotOptions d;
  d.input =
      temp_file("loss_only.jsonl", "{\"tag\":\"train_inner\",\"loss\":5,\"num_updates\":1}\n");
  const PlotSummary only = run_plot(d);
  CHECK(only.panels.size() == 1);
  CHECK(only.warnings.size() == 2);
  CHECK(only.output == (fs::path(d.input).parent_path() / "loss_only.svg").string());
}
