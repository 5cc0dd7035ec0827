#pragma once
// Checkpoint averaging, as fairseq's scripts/average_checkpoints.py (docs/checkpoint_format.md,
// "Averaging"; build/bin/average_checkpoints).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"

namespace trellis {

// The options of `average_checkpoints` (fairseq's flags), declared once: visit() makes its
// flags, --help, --config keys and --dump-config (core/programs.h).
struct AverageCheckpointsOptions {
  std::vector<std::string> inputs;
  std::string output;
  std::optional<int64_t> num_epoch_checkpoints;
  std::optional<int64_t> num_update_checkpoints;
  std::optional<int64_t> checkpoint_upper_bound;

  template <class V>
  void visit(V& v) {
    v.field("inputs", inputs,
            "checkpoint files, or one folder with --num-epoch-checkpoints or "
            "--num-update-checkpoints; required")
        .many();
    v.field("output", output, "the averaged checkpoint to write (atomically); required");
    v.field("num_epoch_checkpoints", num_epoch_checkpoints,
            "average the N highest-numbered checkpointE.pt of the folder");
    v.field("num_update_checkpoints", num_update_checkpoints,
            "average the N highest-U checkpoint_E_U.pt of the folder");
    v.field("checkpoint_upper_bound", checkpoint_upper_bound,
            "skip checkpoints whose E (or U) is above this (e.g. --num-epoch-checkpoints 10 "
            "--checkpoint-upper-bound 50: 41-50)");
  }
  // The flags that go together (ConfigError): not both counts, a bound only with a count.
  void validate() const;
};

// The checkpoint files these options name, in averaging order: --inputs as given (files), or
// select_checkpoints() of the one folder. ConfigError for a missing --inputs or --output, a
// folder without a count (or a count without one folder), a count below 1, an --output that is
// a folder; CheckpointError as select_checkpoints().
std::vector<std::string> checkpoints_to_average(const AverageCheckpointsOptions& options);

// fairseq's last_n_checkpoints: the paths (dir/name) of the newest checkpoints in `dir`, newest
// first. Exactly one of the counts is > 0 (the other 0): num_epoch_checkpoints N picks the N
// highest-numbered checkpointE.pt, num_update_checkpoints N the N highest-U checkpoint_E_U.pt;
// upper_bound K skips files whose E (or U) is above K. ConfigError for counts that are not
// one positive number; CheckpointError naming the folder and what it holds when `dir` is not a
// folder or fewer than N files match.
std::vector<std::string> select_checkpoints(const std::string& dir, int64_t num_epoch_checkpoints,
                                            int64_t num_update_checkpoints,
                                            std::optional<int64_t> upper_bound);

// Loads every checkpoint of `paths` (one at a time) and returns the first one's state with each
// `model` tensor replaced by the mean over all inputs: floating tensors are summed in input order
// (float16/bfloat16 in float32) and divided by paths.size(); integer and bool tensors are
// summed in int64 and floor-divided; every result has its input's dtype and shape (e.g. a
// [V, D] embedding stays [V, D]). The other fields (cfg, optimizer state, extra_state,
// task_state) are the first input's, as fairseq. ConfigError when `paths` is empty;
// CheckpointError naming the file when its model keys, a shape or a dtype differ from the first
// input's.
CheckpointState average_checkpoints(const std::vector<std::string>& paths);

}  // namespace trellis
