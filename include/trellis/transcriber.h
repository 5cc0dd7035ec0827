#pragma once
// trellis's C++ API for applications: speech to text with a trained checkpoint.
//
//   #include <trellis/transcriber.h>
//   trellis::Transcriber asr("checkpoint_best.pt", {"--beam", "5"});
//   trellis::Transcript t = asr.transcribe_file("talk.mp3");   // any rate, wav/flac/ogg/mp3
//   std::cout << t.text << "\n";
//   for (const trellis::Word& w : t.words) std::cout << w.start << " " << w.word << "\n";
//
// The features are computed as the checkpoint's task computes them for prepared data, and the
// search is generate's, so the text equals `generate` on the prepared version of the same
// audio (docs/generate.md, "C++ API"). Link with find_package(trellis) and trellis::trellis
// (examples/transcribe_api/). This header needs neither LibTorch nor other trellis headers.
// Errors are exceptions derived from std::runtime_error whose message names the file or flag.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace trellis {

struct Word {
  std::string word;
  double start = 0.0;  // seconds from the start of the audio
  double end = 0.0;    // seconds, >= start
};

struct Transcript {
  std::string source;       // the file (transcribe_file(s)), or "" for a buffer
  std::string text;         // detokenized best hypothesis (windows stitched)
  std::vector<Word> words;  // word timings from the CTC alignment; empty when the model has no
                            // CTC output over its target units
  double duration = 0.0;    // seconds of audio
  std::string error;        // transcribe_files: why this file was not transcribed ("" = ok)
  bool ok() const { return error.empty(); }
};

class Transcriber {
 public:
  // checkpoint: a trellis (or fairseq-layout) checkpoint; flags: any option of
  // `trellis-transcribe` (docs/cli.md, "transcribe"), e.g. {"--beam", "10", "--lm-path",
  // "lm.arpa", "--window-seconds", "20"}; positional inputs among them are ignored.
  explicit Transcriber(const std::string& checkpoint, const std::vector<std::string>& flags = {});
  ~Transcriber();
  Transcriber(Transcriber&&) noexcept;
  Transcriber& operator=(Transcriber&&) noexcept;
  Transcriber(const Transcriber&) = delete;
  Transcriber& operator=(const Transcriber&) = delete;

  // samples: `count` mono float samples in [-1, 1] at `sample_rate` (resampled to the model's
  // rate with soxr).
  Transcript transcribe(const float* samples, size_t count, int sample_rate) const;
  // One file; throws when it cannot be read.
  Transcript transcribe_file(const std::string& path) const;
  // Several files, batched by --max-tokens; a file that cannot be read gets Transcript::error
  // (naming it) and the others are transcribed.
  std::vector<Transcript> transcribe_files(const std::vector<std::string>& paths) const;

  // The rate the model's input is computed at (Hz).
  int sample_rate() const;
  // Whether transcripts carry word timings (the model has a CTC output over its target units).
  bool has_word_timings() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trellis
