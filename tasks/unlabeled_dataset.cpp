#include "tasks/unlabeled_dataset.h"

#include <algorithm>

#include "core/error.h"
#include "tasks/speech_dataset.h"

namespace trellis {

const UnlabeledEntry& UnlabeledDataset::entry(int64_t index) const {
  const auto i = static_cast<size_t>(index);
  return parts.at(static_cast<size_t>(part_of.at(i))).entries.at(static_cast<size_t>(entry_of[i]));
}

std::string UnlabeledDataset::where(int64_t index) const {
  const UnlabeledEntry& e = entry(index);
  const UnlabeledManifest& m = parts.at(static_cast<size_t>(part_of[static_cast<size_t>(index)]));
  if (e.line > 0) return fmt::format("{}:{}: sample '{}'", m.path, e.line, e.id);
  return fmt::format("{}/: sample '{}' ({})", m.path, e.id, e.audio);
}

UnlabeledDataset load_unlabeled_dataset(const std::string& data_root, const std::string& split,
                                        bool is_train, int sample_rate, int64_t min_samples,
                                        int64_t hop) {
  TRELLIS_CHECK(hop > 0, Error, "load_unlabeled_dataset: hop {} must be positive", hop);
  UnlabeledDataset d;
  d.split = split;
  d.is_train = is_train;
  for (const std::string& name : split_names(split)) {
    d.parts.push_back(find_unlabeled_manifest(data_root, name, sample_rate));
    const UnlabeledManifest& m = d.parts.back();
    for (size_t k = 0; k < m.entries.size(); ++k) {
      const UnlabeledEntry& e = m.entries[k];
      d.part_of.push_back(static_cast<int32_t>(d.parts.size() - 1));
      d.entry_of.push_back(static_cast<int64_t>(k));
      d.ids.push_back(e.id);
      d.n_frames.push_back(std::max(e.num_samples, min_samples) / hop);
    }
  }
  return d;
}

}  // namespace trellis
