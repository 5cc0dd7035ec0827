#pragma once
// A copy of the test corpus (train_corpus.h) for waveform augmentation: train.tsv points at the
// utterances' audio (fbank on the fly, with speed, gain, noise and reverb in config.yaml;
// plain.yaml is the same data without augmentation), dev.tsv keeps the stored features; the
// noise file and impulse response are made here.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/data/audio_writer.h"

namespace trellis::testing {

// A copy of the fbank corpus whose train.tsv points at the utterances' audio (fbank on the fly,
// with augmentation) while dev.tsv keeps the stored features; a noise file and an impulse
// response made here.
inline std::string augmented_corpus(const std::string& fbank_data, const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path out = fs::path(dir) / "data";
  fs::create_directories(out);
  for (const char* f : {"dict.txt", "dev.tsv"}) fs::copy_file(fs::path(fbank_data) / f, out / f);
  const fs::path corpus = fs::path(fbank_data).parent_path() / "corpus";
  std::ifstream in(fs::path(fbank_data) / "train.tsv");
  std::ofstream tsv(out / "train.tsv");
  std::string line;
  for (int n = 0; std::getline(in, line); ++n) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (n > 0) cols[1] = (corpus / (cols[0] + ".wav")).string();  // id -> its audio
    for (size_t i = 0; i < cols.size(); ++i) tsv << (i ? "\t" : "") << cols[i];
    tsv << "\n";
  }
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.f, 0.1f);
  std::vector<float> noise(32000), rir(3200, 0.f);
  for (auto& x : noise) x = normal(gen);
  rir[0] = 1.f;  // direct path, then an exponentially decaying tail (RT60 about 0.2 s)
  for (size_t i = 1; i < rir.size(); ++i)
    rir[i] = 0.3f * normal(gen) * std::exp(-6.9f * static_cast<float>(i) / 3200.f);
  trellis::write_audio_file((out / "noise.wav").string(), noise, 1, 16000, "wav_float");
  trellis::write_audio_file((out / "rir.wav").string(), rir, 1, 16000, "wav_float");
  std::ofstream(out / "noise.lst") << (out / "noise.wav").string() << "\n";
  std::ofstream(out / "rir.lst") << (out / "rir.wav").string() << "\n";
  std::ifstream cfg_in(fs::path(fbank_data) / "config.yaml");
  std::stringstream cfg;
  cfg << cfg_in.rdbuf() << "is_input_waveform: true\nwaveform_sample_rate: 16000\n";
  // plain.yaml: the same data without augmentation (fbank of the unchanged audio).
  std::ofstream(out / "plain.yaml") << cfg.str();
  std::ofstream(out / "config.yaml")
      << cfg.str() << "waveform_transforms:\n  _train: [speed_perturb, gain, noise, reverb]\n"
      << "speed_perturb: {factors: [0.9, 1.0, 1.1]}\n"
      << "gain: {min_gain_dbfs: -6, max_gain_dbfs: 6}\n"
      << "noise: {manifest: noise.lst, prob: 0.8, min_snr_db: 5, max_snr_db: 20}\n"
      << "reverb: {manifest: rir.lst, prob: 0.5}\n";
  return out.string();
}

}  // namespace trellis::testing
