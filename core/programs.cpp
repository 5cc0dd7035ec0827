#include "core/programs.h"

#include "core/checkpoint_average.h"
#include "core/data/prepare.h"
#include "core/generation_options.h"
#include "core/plot/plot_metrics.h"
#include "core/train_options.h"
#include "core/transcribe/transcribe_options.h"

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

ProgramSpec transcribe_program() {
  return ProgramSpec{
      "transcribe",
      "Transcribe audio files with a trained checkpoint, no manifest or prepare step: trellis "
      "transcribe --path ckpt.pt FILE_OR_FOLDER... [--beam N] [--lm-path lm.arpa] [--timestamps] "
      "[--output-format text|json|ctm]. Features are computed as the checkpoint's data config "
      "computes them for prepared data, so the text equals generate's on the prepared audio. "
      "Prints one line per file (text: FILE<TAB>text); an unreadable file is an error on stderr "
      "naming it, the others are transcribed, and the exit status is 1.",
      {{"transcribe", AnyOptions::make<TranscribeOptions>()},
       {"components", AnyOptions::make<GenerateComponents>()},
       {"common", AnyOptions::make<CommonOptions>()},
       {"generation", AnyOptions::make<TranscribeDecodingOptions>()}}};
}

ProgramSpec prepare_program() {
  return ProgramSpec{
      "prepare",
      "Prepare speech data for speech_to_text(_ctc): 80-dim fbank zip (or raw audio paths), "
      "{split}.tsv manifests, SentencePiece/char vocabulary and config.yaml: trellis prepare "
      "--input-format F --input IN[,IN...] --output-dir DATA_ROOT [options].",
      {{"prepare", AnyOptions::make<PrepareOptions>()}}};
}

ProgramSpec plot_program() {
  return ProgramSpec{
      "plot",
      "Plot training curves from the metrics.jsonl that train writes to its --save-dir: one SVG "
      "panel per metric versus updates (loss: train and each --valid-subset; wer: each "
      "--valid-subset; lr), with a legend per panel.",
      {{"plot", AnyOptions::make<plot::PlotOptions>()}}};
}

ProgramSpec average_checkpoints_program() {
  return ProgramSpec{
      "average_checkpoints",
      "Average the model parameters of checkpoints into a new checkpoint (fairseq's "
      "average_checkpoints.py): the files given, or the last N epoch or update checkpoints of a "
      "folder. Other fields come from the first input (the newest, for a folder).",
      {{"average_checkpoints", AnyOptions::make<AverageCheckpointsOptions>()}}};
}

}  // namespace trellis
