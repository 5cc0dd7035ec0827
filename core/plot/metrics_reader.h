#pragma once
// Reads save_dir/metrics.jsonl, the file `train` appends one JSON object to per progress line
// (core/train/run_state_validate.cpp, docs/training.md):
//   {"tag":"train_inner","epoch":1,"loss":6.75,...,"num_updates":1.0,"lr":0.001,...}
//   {"tag":"dev","epoch":1,"loss":4.95,...,"wer":100.0,...,"num_updates":9.0,"best_loss":4.95}
//   {"tag":"train","epoch":1,"loss":5.57,...}          (the end-of-epoch summary)
// and turns it into curves versus num_updates. LibTorch-free.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trellis::plot {

// One line of the file: its tag and every numeric value (strings, booleans and nulls other
// than the tag are ignored).
struct MetricsRecord {
  std::string tag;  // "train_inner", "train", or a validation subset name
  int64_t line = 0;
  std::map<std::string, double> values;
};

struct MetricsLog {
  std::string path;
  std::vector<MetricsRecord> records;
  std::vector<std::string> warnings;  // e.g. an unterminated last line (a run still writing)
};

// The metrics file of a save dir (DIR/metrics.jsonl) or the file itself. DataError when it
// does not exist.
std::string resolve_metrics_path(const std::string& save_dir_or_file);

// Parses the file. Blank lines are skipped. A line that is not a JSON object with a string
// "tag" is a DataError "path:line: ..."; only an unterminated last line (being written while
// we read) is skipped with a warning instead.
MetricsLog read_metrics_jsonl(const std::string& path);

// Same, from text (`path` names it in errors).
MetricsLog parse_metrics_jsonl(const std::string& text, const std::string& path);

// One curve of one metric versus num_updates.
struct MetricCurve {
  std::string label;  // "train", "train (epoch)", "dev", ...
  std::vector<double> updates, values;
};

// The curves of `metric`: one per tag that logs it (training first, then the subsets in order
// of first appearance), with records lacking num_updates left out. train_inner is labelled "train"
// and the epoch summaries "train (epoch)". "lr" is one curve ("lr") from the training records of
// both kinds, one point per update count. When a run resumed from an earlier checkpoint logs an
// update count again, the points it supersedes (the same or higher counts) are dropped, so a
// curve always moves forward.
std::vector<MetricCurve> metric_curves(const MetricsLog& log, const std::string& metric);

// Every numeric key of the records (sorted), for error messages and --help.
std::vector<std::string> metric_names(const MetricsLog& log);

}  // namespace trellis::plot
