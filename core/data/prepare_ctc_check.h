#pragma once
// `prepare --ctc-subsampling N` (docs/reliability.md, "Non-finite losses"): rows whose
// target has more CTC units than their input has frames after N-fold subsampling. CTC needs a
// frame per unit and a blank between two equal neighbours, so a row is infeasible when
// ceil(n_frames / N) < units + repeats; its CTC loss is infinite and, without --zero-infinity,
// it makes every update it is in non-finite. Units are the target as the task tokenizes it
// (the data config's bpe_tokenizer); with a src_text, also the source side as
// bpe_tokenizer_src tokenizes it (speech_to_text_ctc's ctc_multi_loss aligns that), and the
// row counts when either side cannot be aligned.
// ceil(T / N) is exact for the conformers' stride-2 front-ends (N = 4; Fast Conformer: 8) and
// an upper bound on the frames of wav2vec2's feature encoder (N = 320 samples per frame).

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/data_config.h"
#include "core/data/manifest.h"

namespace trellis {

struct CtcInfeasibleRow {
  std::string split;
  std::string id;
  int64_t units = 0;   // units plus repeated neighbours: the frames an alignment needs
  int64_t frames = 0;  // ceil(n_frames / N)
};

// The infeasible rows of one split, tokenized as `config` says (models read from data_dir).
std::vector<CtcInfeasibleRow> ctc_infeasible_rows(const std::vector<ManifestRow>& rows,
                                                  const std::string& split,
                                                  const DataConfig& config, int64_t subsampling,
                                                  const std::string& data_dir);

// Logs the count and the first few ids per split and writes every row to `tsv_path`
// (split, id, units, frames); removes a stale `tsv_path` when there is none.
void report_ctc_infeasible(const std::vector<CtcInfeasibleRow>& rows, int64_t subsampling,
                           const std::string& tsv_path, bool dropped_from_train);

}  // namespace trellis
