#pragma once
// One loaded split of a speech task (fairseq's SpeechToTextDataset, or the ConcatDataset of a
// comma list): the manifest rows it needs, tokenized targets and transcripts, sizes, and the
// feature transforms of each part. Immutable once loaded, so collation may read it from several
// threads at once. LibTorch-free.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/data/batching.h"
#include "core/data/feature_transform.h"
#include "core/data/waveform_transform.h"

namespace trellis {

class SpeechVocab;

// One TSV of the concatenation.
struct SpeechDatasetPart {
  std::string name;            // split name as on the command line (train_a)
  std::string manifest_path;   // DATA_ROOT/train_a.tsv
  int64_t begin = 0, end = 0;  // its samples in the concatenation: [begin, end)
  std::vector<std::unique_ptr<FeatureTransform>> transforms;  // for this name (docs/tasks.md)
  // Waveform augmentation of this name's audio (core/data/waveform_transform.h); its samples'
  // n_frames are the bound after it (speed perturbation lengthens audio).
  WaveformTransforms waveform_transforms;
  // Its rows' "src_lang->tgt_lang" pairs (distinct, first-seen order) and the sum of its
  // manifest n_frames: the sizes of temperature resampling (sampling_alpha).
  std::vector<std::string> lang_pairs;
  int64_t manifest_frames = 0;
};

struct SpeechSample {
  std::string audio;                // the manifest's `audio` field, as written
  int64_t line = 0;                 // line in the manifest (header = 1)
  int32_t part = 0;                 // index into SpeechDataset::parts
  std::vector<int32_t> target;      // [<lang:xx>] + pieces + eos (target dictionary)
  std::vector<int32_t> transcript;  // src_text pieces + eos (source dictionary); empty when the
                                    // task has no source side
};

struct SpeechDataset {
  std::string split;  // the comma list as given
  bool is_train = false;
  std::vector<SpeechDatasetPart> parts;
  std::vector<SpeechSample> samples;  // concatenation order
  std::vector<std::string> ids;       // (N) manifest ids
  // (N) manifest n_frames (frames; samples for raw audio), raised to the longest a part's
  // waveform transforms can make it (batching and size filters then stay within their limits)
  std::vector<int64_t> n_frames;
  std::vector<int64_t> n_tgt_tokens;  // (N) target pieces without eos and lang tag

  int64_t size() const { return static_cast<int64_t>(samples.size()); }
  // "DATA_ROOT/train.tsv:12: sample 'id'" for error messages.
  std::string where(int64_t index) const;
};

// Reads DATA_ROOT/<name>.tsv for every name of the comma list `split` and tokenizes its text
// with `vocab` (docs/tasks.md, "Targets and transcripts"): target = [<lang:tgt_lang>] (with
// prepend_tgt_lang_tag; DataError when the tag is not in the dictionary) + pieces + eos;
// with source_side, transcript = src_text pieces + eos (empty src_text -> [eos]). A missing or
// empty manifest throws DataError naming it. The transforms of each part are built for its
// name with `is_train`. waveform_override: when set, the waveform transforms of a training
// split are these names (comma list; "" = none) instead of the config's list (the task's
// --waveform-transforms); their options still come from the config.
std::unique_ptr<SpeechDataset> load_speech_dataset(
    const std::string& data_root, const std::string& split, bool is_train,
    const SpeechVocab& vocab, bool source_side,
    const std::optional<std::string>& waveform_override = std::nullopt);

// The batches of a loaded split (docs/tasks.md): ordered_indices for
// options.style and the number of parts, filter_by_size against (max_source, max_target) (<= 0:
// no limit; skip_invalid drops with a warning naming the first ids, else DataError), then
// batch_by_size with num_tokens = max(n_frames, n_tgt_tokens) (FBK, or several parts) or
// n_frames (upstream, one part).
// subset: when given, batches the samples subset[0], subset[1], ... instead (a resampled
// epoch, repeats allowed) as fairseq's ConcatDataset of ResamplingDatasets does, and returns
// dataset indices.
Batches batch_speech_dataset(const SpeechDataset& d, int64_t max_source, int64_t max_target,
                             bool skip_invalid, const BatchingOptions& options,
                             const std::vector<int64_t>* subset = nullptr);

// fairseq's get_size_ratios over the parts of a training split (sampling_alpha = alpha): one
// ratio per part from the summed manifest n_frames of its language pair; logs the balancing as
// fairseq does. A part whose rows hold more than one src_lang->tgt_lang pair throws DataError
// naming its manifest (fairseq asserts one pair per split).
std::vector<double> resampling_ratios(const SpeechDataset& d, double alpha);

// The samples of one epoch of temperature resampling (docs/tasks.md): each part's
// resample_indices for its ratio (ratios: one per part), offset into the concatenation.
std::vector<int64_t> resampled_epoch(const SpeechDataset& d, const std::vector<double>& ratios,
                                     int64_t seed, int64_t epoch);

// Splits a comma list ("a,b" -> {a, b}); empty names throw ConfigError.
std::vector<std::string> split_names(const std::string& split);

}  // namespace trellis
