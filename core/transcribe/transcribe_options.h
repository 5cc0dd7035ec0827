#pragma once
// The options of `transcribe` (and of trellis::Transcriber, which parses the same flags):
// audio files or folders in, text out (docs/generate.md, "transcribe").

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/generation_options.h"
#include "core/options.h"

namespace trellis {

// What transcribe reads and writes.
struct TranscribeOptions {
  std::vector<std::string> inputs;
  std::string data;  // data root for files the checkpoint's data config names by relative path
  double window_seconds = 30.0;
  double window_overlap_seconds = 2.0;
  bool timestamps = false;
  std::string output_format;  // "" = text, or json with --timestamps

  template <class V>
  void visit(V& v) {
    v.field("inputs", inputs,
            "audio files (wav, flac, ogg, mp3; any sample rate) or folders of them (searched "
            "recursively)")
        .positional()
        .many();
    v.field("data", data,
            "data root for the files the checkpoint's data config names by a relative path "
            "(global CMVN stats, SentencePiece model); '': the paths as stored");
    v.field("window_seconds", window_seconds,
            "audio longer than this is cut into windows of this length, decoded separately and "
            "stitched (docs/generate.md, \"transcribe\")");
    v.field("window_overlap_seconds", window_overlap_seconds,
            "overlap of consecutive windows; each keeps the words whose middle lies on its side "
            "of the overlap's middle");
    v.field("timestamps", timestamps,
            "word start/end times from the CTC alignment of the best hypothesis (JSON lines "
            "unless --output-format ctm)");
    v.field("output_format", output_format,
            "text: FILE<TAB>text per file; json: one JSON object per file (words with "
            "--timestamps); ctm: FILE 1 START DURATION WORD per word; '': text, or json with "
            "--timestamps")
        .choices({"", "text", "json", "ctm"});
  }
  void validate() const {
    TRELLIS_CHECK(window_seconds > 0, ConfigError, "--window-seconds must be > 0 (got {})",
                  window_seconds);
    TRELLIS_CHECK(window_overlap_seconds >= 0 && window_overlap_seconds < window_seconds / 2,
                  ConfigError,
                  "--window-overlap-seconds must be in [0, --window-seconds / 2) (got {})",
                  window_overlap_seconds);
  }
  // The format actually written: text | json | ctm.
  std::string format() const {
    if (!output_format.empty()) return output_format;
    return timestamps ? "json" : "text";
  }
};

// generate's decoding flags (--path, --beam, --lm-path, --max-tokens, ...) without those about
// a split or its scoring, which transcribe does not have.
struct TranscribeDecodingOptions {
  GenerationOptions gen;

  // A visitor that hands every field of GenerationOptions on except the excluded ones.
  template <class V>
  struct Filter {
    V& out;
    std::deque<Fields>* dropped;
    template <class T>
    Field& field(const std::string& name, T& value, const std::string& help) {
      static const std::set<std::string> kExcluded{
          "gen_subset", "results_path", "scoring",
          "quiet",      "prefix_size",  "skip_invalid_size_inputs_valid_test",
          "nbest"};
      if (kExcluded.count(name) == 0) return out.field(name, value, help);
      dropped->emplace_back();
      return dropped->back().field(name, value, help);
    }
  };
  template <class V>
  void visit(V& v) {
    std::deque<Fields> dropped;
    Filter<V> f{v, &dropped};
    gen.visit(f);
  }
  void validate() const { gen.validate(); }
};

// The audio files of the inputs: a file as given, a folder's files with an audio extension
// (.wav .flac .ogg .oga .opus .mp3, any case), recursively, in path order. A missing path is
// kept (its error is reported when it is read).
std::vector<std::string> expand_audio_inputs(const std::vector<std::string>& inputs);

}  // namespace trellis
