#pragma once
// A tiny speech_to_text data folder written by the tests themselves (no external tools):
//   dict.txt      a b c | <lang:de>            -> indices 4 5 6 7 8
//   config.yaml   characters tokenizer (target and source) + `extra` YAML lines
//   train.tsv     u0 npy (6, 80) "ab"/"a"; u1 zip npy (9, 80) "b c"/""; u2 npy (6, 80) "c"/"cc";
//                 u3 wav of 1520 samples at 16 kHz (8 fbank frames) "a"/"a"; all tgt_lang de
// Feature values: frame t, bin f of sample k = k + t / 10 + f / 1000.

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/data/audio_writer.h"
#include "core/io/npy.h"
#include "core/io/zip_archive.h"

namespace trellis::testing {

inline std::vector<float> corpus_features(int k, int64_t T, int64_t F = 80) {
  std::vector<float> x(static_cast<size_t>(T * F));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t f = 0; f < F; ++f)
      x[static_cast<size_t>(t * F + f)] = static_cast<float>(k + t / 10.0 + f / 1000.0);
  return x;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline void write_npy(const std::filesystem::path& p, const std::vector<float>& x, int64_t T,
                      int64_t F) {
  auto bytes = encode_npy_f32(x.data(), {T, F});
  std::ofstream(p, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

struct SpeechCorpus {
  std::filesystem::path root;

  // A fresh folder named after `name`; extra: lines appended to config.yaml.
  explicit SpeechCorpus(const std::string& name, const std::string& extra = "") {
    namespace fs = std::filesystem;
    root = fs::temp_directory_path() / fmt::format("trellis_tasks_{}_{}", name, ::getpid());
    fs::remove_all(root);
    fs::create_directories(root);
    write_text(root / "dict.txt", "a 1\nb 1\nc 1\n| 1\n<lang:de> 1\n");
    write_text(root / "config.yaml",
               "vocab_filename: dict.txt\nbpe_tokenizer: {bpe: characters}\n"
               "bpe_tokenizer_src: {bpe: characters}\n" +
                   extra);
    write_npy(root / "u0.npy", corpus_features(0, 6), 6, 80);
    write_npy(root / "u2.npy", corpus_features(2, 6), 6, 80);
    {
      ZipWriter zip((root / "fbank.zip").string());
      auto x = corpus_features(1, 9);
      ZipEntry e = zip.add("u1.npy", encode_npy_f32(x.data(), {9, 80}));
      zip_u1 = fmt::format("{}:{}:{}", (root / "fbank.zip").string(), e.offset, e.size);
    }
    std::vector<float> wav(1520);
    for (size_t i = 0; i < wav.size(); ++i)
      wav[i] = 0.3f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    write_audio_file((root / "u3.wav").string(), wav, 1, 16000, "wav");
    write_tsv("train", default_rows());
  }

  // id, audio, n_frames, tgt_text, src_text rows of the default train.tsv.
  std::vector<std::vector<std::string>> default_rows() const {
    return {{"u0", (root / "u0.npy").string(), "6", "ab", "a"},
            {"u1", zip_u1, "9", "b c", ""},
            {"u2", (root / "u2.npy").string(), "6", "c", "cc"},
            {"u3", (root / "u3.wav").string(), "8", "a", "a"}};
  }

  void write_tsv(const std::string& split, const std::vector<std::vector<std::string>>& rows) {
    std::string text = "id\taudio\tn_frames\ttgt_text\tsrc_text\ttgt_lang\n";
    for (const auto& r : rows)
      text += fmt::format("{}\t{}\t{}\t{}\t{}\tde\n", r[0], r[1], r[2], r[3], r[4]);
    write_text(root / (split + ".tsv"), text);
  }

  std::string zip_u1;
};

}  // namespace trellis::testing
