#pragma once
// fairseq_cli/train.py for trellis (docs/training.md, "One run"): builds the task, model,
// criterion, optimizer and schedule from a parsed `train` configuration, resumes (resume.h),
// then runs epochs of updates with validation, checkpoints, early stopping and logging.

namespace trellis {

class Config;

// Returns the process exit code: 0 when training ended normally, 128 + signal after SIGINT or
// SIGTERM (checkpoint_last.pt saved). Errors are thrown (core/error.h).
int run_training(const Config& config);

}  // namespace trellis
