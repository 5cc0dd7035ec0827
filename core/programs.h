#pragma once
// The option groups each executable accepts (used by the mains and by the tests).

#include <string>

#include "core/cli_parser.h"

namespace trellis {

// A `data` positional (DATA_ROOT), shared by train and generate.
struct DataRootOptions {
  std::string data;
  template <class V>
  void visit(V& v) {
    v.field("data", data, "data root: <split>.tsv manifests, config YAML, vocabularies")
        .positional();
  }
};


ProgramSpec train_program();
ProgramSpec generate_program();
// transcribe (and trellis::Transcriber): groups "transcribe" (TranscribeOptions), "components",
// "common", "generation" (TranscribeDecodingOptions).
ProgramSpec transcribe_program();
// The single-group programs: the options struct is the group ("prepare", "plot",
// "average_checkpoints"): PrepareOptions, plot::PlotOptions, AverageCheckpointsOptions.
ProgramSpec prepare_program();
ProgramSpec plot_program();
ProgramSpec average_checkpoints_program();

}  // namespace trellis
