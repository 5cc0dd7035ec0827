#pragma once
// Checkpoint averaging, as fairseq's scripts/average_checkpoints.py (spec/fairseq-compat.md 6.5,
// "Checkpoint averaging"; docs/checkpoint_format.md "Averaging"; build/bin/average_checkpoints).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/checkpoint.h"

namespace trellis {

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
