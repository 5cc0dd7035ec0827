#pragma once
// `prepare`: speech corpora -> a fairseq speech_to_text data folder (docs/data_formats.md):
//   fbank80.zip (stored .npy entries, T x 80 float32) or audio paths (--features raw),
//   {split}.tsv (id audio n_frames tgt_text speaker [src_text tgt_lang]), config.yaml,
//   spm_{type}{size}.model + .txt (or dict.txt with --vocab-type char), gcmvn.npz.
// Inputs: fairseq-style TSV, NeMo JSON lines, Common Voice TSV/CSV, or a folder of audio files
// with transcripts (`name.txt` next to each file, or a `transcripts.tsv`).

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace trellis {

// The options of `prepare`, declared once: visit() makes its flags, --help, --config keys and
// --dump-config (core/programs.h, prepare_program()).
struct PrepareOptions {
  std::string input_format = "tsv";
  std::vector<std::string> inputs;
  std::string output_dir;
  // "train:0.9,dev:0.05,test:0.05" (shuffle all, cut by fraction) or "train,dev" (one per input)
  std::string splits = "train:0.9,dev:0.05,test:0.05";
  std::string vocab_type = "unigram";
  int64_t vocab_size = 1000;
  std::string features = "fbank80";
  std::string tgt_lang;
  bool prepend_tgt_lang_tag = false;
  std::string cmvn = "utterance";
  std::string src_text_from;  // "" | tgt
  int num_workers = 1;
  std::vector<double> volume;  // per input, fraction kept (default 1)
  int64_t seed = 1;            // 0 .. 2^32-1 (std::mt19937)
  bool skip_bad_audio = false;
  std::string clips_dir;  // Common Voice clips folder
  bool progress = true;   // only drawn when stderr is a TTY
  // Offline speed perturbation of the training splits (names starting with "train"): each
  // factor != 1 adds a copy of every training utterance, id "sp<factor>-<id>", its audio
  // resampled as `sox speed` (core/data/speed_resample.h). Empty: off.
  std::vector<double> speed_perturb;
  // CTC feasibility report (core/data/prepare_ctc_check.h): input frames per output frame;
  // -1: 4 for fbank80 (the conformers), 320 for raw audio (wav2vec2); 0: no report.
  int64_t ctc_subsampling = -1;
  bool drop_ctc_infeasible = false;

  template <class V>
  void visit(V& v) {
    v.field("input_format", input_format, "format of the inputs")
        .choices({"tsv", "nemo", "commonvoice", "dir"});
    v.field("input", inputs,
            "input manifest(s) or folder(s), comma-separated (tsv: columns audio/path + "
            "tgt_text/text/sentence; nemo: JSON lines; commonvoice: TSV or CSV; dir: audio files "
            "with NAME.txt or transcripts.tsv); required");
    v.field("output_dir", output_dir, "output folder (DATA_ROOT); required");
    v.field("splits", splits, "name:fraction,... (shuffled with --seed) or one name per input");
    v.field("vocab_type", vocab_type, "vocabulary").choices({"char", "unigram", "bpe"});
    v.field("vocab_size", vocab_size, "SentencePiece vocabulary size");
    v.field("features", features, "stored features, or raw audio paths")
        .choices({"fbank80", "raw"});
    v.field("tgt_lang", tgt_lang, "target language code (tgt_lang column)");
    v.field("prepend_tgt_lang_tag", prepend_tgt_lang_tag,
            "prepend <lang:TGT> to targets (adds the tag to the vocabulary)");
    v.field("cmvn", cmvn, "feature normalisation").choices({"global", "utterance", "none"});
    v.field("src_text_from", src_text_from,
            "tgt: write src_text = tgt_text and source vocab keys (FBK speech_to_text_ctc)")
        .choices({"", "tgt"});
    v.field("num_workers", num_workers, "feature extraction threads");
    v.field("volume", volume,
            "fraction of each input to keep (one value, or comma-separated per input; empty: "
            "all)");
    v.field("seed", seed, "seed for splits and --volume subsets");
    v.field("skip_bad_audio", skip_bad_audio,
            "skip (and count) unreadable audio instead of failing");
    v.field("clips_dir", clips_dir,
            "Common Voice clips folder ('': clips/ next to the table)");
    v.field("speed_perturb", speed_perturb,
            "speed perturbation factors, e.g. 0.9,1.0,1.1 (Kaldi/ESPnet recipes: "
            "--speed_perturb_factors), applied to the training splits only (names starting "
            "with 'train'; dev/test are never perturbed): each factor != 1 adds a copy of every "
            "training utterance with id sp<factor>-<id> (Kaldi's prefix), pitch and tempo "
            "changed together as `sox speed`; the original is always kept (1.0 may be "
            "omitted); same text and speaker, features and n_frames from the perturbed audio "
            "(--features raw: wav files in OUT/speed_perturb/); the vocabulary is trained on "
            "the original transcripts only; empty: off");
    v.field("ctc_subsampling", ctc_subsampling,
            "report the utterances CTC cannot align (more target units than frames after "
            "N-fold subsampling; listed in OUT/ctc_infeasible.tsv): N input frames per model "
            "output frame; -1: 4 with fbank80 (conformer), 320 with raw audio (wav2vec2); 0: "
            "no report");
    v.field("drop_ctc_infeasible", drop_ctc_infeasible,
            "drop the utterances of the --ctc-subsampling report from the training splits "
            "(dev/test are kept, and reported)");
    v.field("progress", progress, "draw a progress bar when stderr is a terminal (--no-progress: "
                                  "never)");
  }
  void validate() const {
    TRELLIS_CHECK(ctc_subsampling >= -1, ConfigError,
                  "--ctc-subsampling {}: expected N > 0, -1 (automatic) or 0 (no report)",
                  ctc_subsampling);
    TRELLIS_CHECK(!drop_ctc_infeasible || ctc_subsampling != 0, ConfigError,
                  "--drop-ctc-infeasible needs the report: --ctc-subsampling is 0");
    TRELLIS_CHECK(seed >= 0 && seed <= int64_t{0xFFFFFFFF}, ConfigError,
                  "--seed {}: expected 0 .. 4294967295", seed);
    for (size_t i = 0; i < speed_perturb.size(); ++i) {
      const double f = speed_perturb[i];
      TRELLIS_CHECK(f > 0 && f < 1e6, ConfigError,  // also false for NaN
                    "--speed-perturb: factor {} is not a number > 0 (e.g. 0.9,1.0,1.1)", f);
      for (size_t j = 0; j < i; ++j)
        TRELLIS_CHECK(speed_perturb[j] != f, ConfigError,
                      "--speed-perturb: factor {} is given twice", f);
    }
  }
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
  int64_t speed_perturbed = 0;  // rows that are speed-perturbed copies (--speed-perturb)
  int64_t ctc_infeasible = 0;   // rows of every split CTC cannot align (--ctc-subsampling)
  int64_t ctc_dropped = 0;      // of them, dropped from training splits (--drop-ctc-infeasible)
};

// Runs everything; throws DataError / ConfigError.
PrepareSummary run_prepare(const PrepareOptions& options);

}  // namespace trellis
