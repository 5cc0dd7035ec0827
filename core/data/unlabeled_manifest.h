#pragma once
// Lists of unlabelled audio for self-supervised pretraining (docs/ssl.md, "Data"). LibTorch-free.
// A split NAME under DATA_ROOT is the first of these that exists:
//   1. DATA_ROOT/NAME.tsv, either
//      a. a TSV with a header holding an `audio` column (fairseq's speech manifests; any other
//         columns, tgt_text included, are ignored); optional `id`; sizes from `n_samples`
//         (samples) when present, else `n_frames`, else read from the audio file's header.
//         `n_frames` counts what the speech tasks read (fairseq's speech_to_text rule): samples
//         when the data config beside the TSV (DIR/config.yaml) says `use_audio_input: true`
//         (prepare --features raw, fairseq's prep scripts with --use-audio-input) or
//         `is_input_waveform: true` (FBK), else 10 ms feature frames (samples = rate / 100 *
//         n_frames; features computed from the audio on the fly, the default without a config).
//         `audio` takes what the speech tasks take for audio: a path, or
//         `archive.zip:OFFSET:LENGTH` (then a size column is needed);
//      b. a wav2vec manifest (fairseq's wav2vec_manifest.py): the first line is the audio root
//         folder (no tab), then `relative/path<TAB>num_samples` per line, no header;
//   2. DATA_ROOT/NAME.json: NeMo JSON lines with `audio_filepath` and optionally `duration`,
//      `offset` (seconds; `text` is not needed); size = duration * rate, or the header's;
//   3. DATA_ROOT/NAME/: every .wav .flac .ogg .mp3 .sph below it (sorted paths), sizes from the
//      headers, ids = paths relative to the folder without extension.
// Relative paths resolve against the manifest's folder when the file exists there, else stay
// relative to the working directory. Errors are DataError naming file:line.

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct UnlabeledEntry {
  std::string id;
  std::string audio;        // path, or archive.zip:OFFSET:LENGTH
  double offset_s = 0;      // NeMo offset (seconds)
  double duration_s = -1;   // NeMo duration (seconds); -1 = to the end of the file
  int64_t num_samples = 0;  // length at the manifest's sample rate (before any padding)
  int64_t line = 0;         // 1-based line in the manifest; 0 for folder listings
};

// What a TSV's `n_frames` column counts (kAuto: read the config.yaml beside the TSV, above).
enum class NFramesUnit { kAuto, kSamples, kFrames10ms };

struct UnlabeledManifest {
  std::string path;  // the .tsv/.json file or the folder
  std::string kind;  // "tsv", "wav2vec", "json" or "folder"
  // Where the sizes came from: "n_samples", "n_frames (samples)", "n_frames (10 ms frames)",
  // "header" (the audio files), "duration" (NeMo; "header" where a line has none).
  std::string sizes_from;
  std::vector<UnlabeledEntry> entries;
};

// The split's list by the lookup rules above; DataError naming the three candidates when none
// exists. sample_rate: the rate sizes are counted at (16000).
UnlabeledManifest find_unlabeled_manifest(const std::string& data_root, const std::string& name,
                                          int sample_rate,
                                          NFramesUnit n_frames_unit = NFramesUnit::kAuto);
UnlabeledManifest read_unlabeled_tsv(const std::string& path, int sample_rate,
                                     NFramesUnit n_frames_unit = NFramesUnit::kAuto);
// kSamples when DIR/config.yaml (DIR: the TSV's folder) sets use_audio_input or
// is_input_waveform true, else kFrames10ms. DataError naming the config when it is not YAML
// or the key is not a boolean.
NFramesUnit n_frames_unit_beside(const std::string& tsv_path);
UnlabeledManifest read_unlabeled_json(const std::string& path, int sample_rate);
UnlabeledManifest list_unlabeled_folder(const std::string& dir, int sample_rate);

// Samples of an audio file at sample_rate, from its header (no decoding); DataError when the
// file cannot be opened.
int64_t audio_file_samples(const std::string& path, int sample_rate);

// The entry's audio: mono, resampled to sample_rate, cut to [offset, offset + duration).
// DataError naming the audio.
std::vector<float> read_unlabeled_audio(const UnlabeledEntry& entry, int sample_rate);

}  // namespace trellis
