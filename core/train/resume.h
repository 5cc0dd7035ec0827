#pragma once
// Where a training run starts from (docs/training.md, "Checkpoints and resume"; where it differs
// from fairseq: docs/migrating.md):
//   1. save_dir/checkpoint_last.pt written by this very job (same --save-dir): resume from it
//      fully; --restore-file, --finetune-from-model and the --reset-* flags are not applied
//      again (they applied when the job first started).
//   2. otherwise --finetune-from-model P: weights only (everything else reset); P must exist and
//      cannot be combined with --reset-* or a non-default --restore-file.
//   3. otherwise --restore-file: the default name means save_dir/checkpoint_last.pt (e.g. a
//      checkpoint copied there by a fine-tuning recipe), loaded with the --reset-* flags; any
//      other path is taken literally and must exist (fairseq silently starts from scratch).
//   4. otherwise a fresh start.

#include <functional>
#include <optional>
#include <string>

namespace trellis {

struct CheckpointOptions;

struct ResumePlan {
  std::string path;
  bool reset_optimizer = false;  // also num_updates, and best/patience
  bool reset_lr_scheduler = false;
  bool reset_dataloader = false;
  bool reset_meters = false;
  std::string why;  // one line for the log
};

// own_checkpoint(path): whether the checkpoint at `path` was written by a run with this
// --save-dir. Throws ConfigError for a bad flag combination or a missing file.
using OwnCheckpointFn = std::function<bool(const std::string& path)>;
std::optional<ResumePlan> plan_resume(const CheckpointOptions& options,
                                      const OwnCheckpointFn& own_checkpoint);

}  // namespace trellis
