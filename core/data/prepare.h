#pragma once
// `prepare`: speech corpora -> a fairseq speech_to_text data folder (fairseq-compat.md §1):
//   fbank80.zip (stored .npy entries, T x 80 float32) or audio paths (--features raw),
//   {split}.tsv (id audio n_frames tgt_text speaker [src_text tgt_lang]), config.yaml,
//   spm_{type}{size}.model + .txt (or dict.txt with --vocab-type char), gcmvn.npz.
// Inputs: fairseq-style TSV, NeMo JSON lines, Common Voice TSV/CSV, or a folder of audio files
// with transcripts (`name.txt` next to each file, or a `transcripts.tsv`).

#include <cstdint>
#include <string>
#include <vector>

namespace trellis {

struct PrepareOptions {
  std::string input_format = "tsv";  // tsv | nemo | commonvoice | dir
  std::vector<std::string> inputs;
  std::string output_dir;
  // "train:0.9,dev:0.05,test:0.05" (shuffle all, cut by fraction) or "train,dev" (one per input)
  std::string splits = "train:0.9,dev:0.05,test:0.05";
  std::string vocab_type = "unigram";  // char | unigram | bpe
  int64_t vocab_size = 1000;
  std::string features = "fbank80";  // fbank80 | raw
  std::string tgt_lang;
  bool prepend_tgt_lang_tag = false;
  std::string cmvn = "utterance";  // global | utterance | none
  std::string src_text_from;       // "" | tgt
  int num_workers = 1;
  std::vector<double> volume;  // per input, fraction kept (default 1)
  uint32_t seed = 1;
  bool skip_bad_audio = false;
  std::string clips_dir;  // Common Voice clips folder
  bool progress = true;   // only drawn when stderr is a TTY
};

// One utterance from any input.
struct SourceUtterance {
  std::string id;
  std::string audio;     // path
  double offset = 0;     // seconds
  double duration = -1;  // seconds, -1 = to the end
  std::string text;
  std::string speaker;
  std::string src_text;
  std::string where;  // "manifest:line" for errors
  int input = 0;      // index into PrepareOptions::inputs
};

// Reads every input (after --volume), ids made unique.
std::vector<SourceUtterance> read_prepare_inputs(const PrepareOptions& options);

struct PrepareSummary {
  std::vector<std::string> splits;
  std::vector<int64_t> rows;  // per split
  int64_t skipped_bad_audio = 0;
  int64_t filtered = 0;  // train rows dropped by the prep-time size/text filters
};

// Runs everything; throws DataError / ConfigError.
PrepareSummary run_prepare(const PrepareOptions& options);

}  // namespace trellis
