#include "core/train/resume.h"

#include <filesystem>

#include "core/error.h"
#include "core/train_options.h"

namespace trellis {

namespace fs = std::filesystem;

std::optional<ResumePlan> plan_resume(const CheckpointOptions& o,
                                      const OwnCheckpointFn& own_checkpoint) {
  const std::string last = (fs::path(o.save_dir) / "checkpoint_last.pt").string();
  const bool default_restore = o.restore_file == "checkpoint_last.pt";
  const bool any_reset =
      o.reset_optimizer || o.reset_lr_scheduler || o.reset_dataloader || o.reset_meters;
  const bool last_exists = fs::exists(last);

  if (last_exists && own_checkpoint(last)) {
    ResumePlan p;
    p.path = last;
    p.why = "resuming this job from " + last;
    if (any_reset || !default_restore || !o.finetune_from_model.empty())
      p.why += " (--restore-file, --finetune-from-model and --reset-* applied when the job "
               "started and are not applied again)";
    return p;
  }
  if (!o.finetune_from_model.empty()) {
    TRELLIS_CHECK(!any_reset && default_restore, ConfigError,
                  "--finetune-from-model cannot be combined with --reset-* flags or a "
                  "--restore-file (it already resets everything but the weights)");
    TRELLIS_CHECK(fs::exists(o.finetune_from_model), ConfigError,
                  "--finetune-from-model {}: no such file", o.finetune_from_model);
    return ResumePlan{o.finetune_from_model, true, true, true, true,
                      "fine-tuning from the weights of " + o.finetune_from_model};
  }
  ResumePlan p{default_restore ? last : o.restore_file, o.reset_optimizer, o.reset_lr_scheduler,
               o.reset_dataloader, o.reset_meters, ""};
  if (default_restore && !last_exists) return std::nullopt;
  TRELLIS_CHECK(fs::exists(p.path), ConfigError,
                "--restore-file {}: no such file (fairseq would silently train from scratch; "
                "remove the flag to do that)",
                p.path);
  p.why = "restoring " + p.path;
  return p;
}

}  // namespace trellis
