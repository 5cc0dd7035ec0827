#include "core/programs.h"

#include "core/generation_options.h"
#include "core/train_options.h"

namespace trellis {

ProgramSpec train_program() {
  return ProgramSpec{
      "train",
      "Train a speech model with fairseq's flags: trellis train DATA --task T --arch A "
      "--criterion C --optimizer O [--lr-scheduler S] [options]. Resumes from "
      "--save-dir/checkpoint_last.pt when it exists.",
      {{"data", AnyOptions::make<DataRootOptions>()},
       {"components", AnyOptions::make<ComponentOptions>()},
       {"common", AnyOptions::make<CommonOptions>()},
       {"dataset", AnyOptions::make<DatasetOptions>()},
       {"optimization", AnyOptions::make<OptimizationOptions>()},
       {"checkpoint", AnyOptions::make<CheckpointOptions>()},
       {"distributed_training", AnyOptions::make<DistributedOptions>()}}};
}

ProgramSpec generate_program() {
  return ProgramSpec{
      "generate",
      "Decode a split with trained checkpoints and score it, like fairseq-generate: trellis "
      "generate DATA --path ckpt.pt --gen-subset test --task T [--beam N] [--scoring wer].",
      {{"data", AnyOptions::make<DataRootOptions>()},
       {"components", AnyOptions::make<GenerateComponents>()},
       {"common", AnyOptions::make<CommonOptions>()},
       {"generation", AnyOptions::make<GenerationOptions>()}}};
}

}  // namespace trellis
