#pragma once
// One loaded split of unlabelled audio (a comma list of names is concatenated), for
// --task masked_token_prediction. Immutable once loaded, so collation may read it from several
// threads. LibTorch-free. Lookup rules of a name: core/data/unlabeled_manifest.h.

#include <cstdint>
#include <string>
#include <vector>

#include "core/data/unlabeled_manifest.h"

namespace trellis {

struct UnlabeledDataset {
  std::string split;  // the comma list as given
  bool is_train = false;
  std::vector<UnlabeledManifest> parts;
  std::vector<int32_t> part_of;    // (N) index into parts
  std::vector<int64_t> entry_of;   // (N) index into parts[part_of[i]].entries
  std::vector<std::string> ids;    // (N)
  // (N) feature frames for batching: samples / hop after padding to min_samples.
  std::vector<int64_t> n_frames;

  int64_t size() const { return static_cast<int64_t>(part_of.size()); }
  const UnlabeledEntry& entry(int64_t index) const;
  // "DATA_ROOT/train.json:12: sample 'id'" (folders: "DATA_ROOT/train/: sample 'id'").
  std::string where(int64_t index) const;
};

// Reads every name of `split` (core/data/unlabeled_manifest.h). Sizes: frames =
// max(num_samples, min_samples) / hop (the audio shorter than min_samples is padded to it).
UnlabeledDataset load_unlabeled_dataset(const std::string& data_root, const std::string& split,
                                        bool is_train, int sample_rate, int64_t min_samples,
                                        int64_t hop);

}  // namespace trellis
