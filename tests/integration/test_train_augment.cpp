// Waveform augmentation end to end (docs/data_formats.md, "Waveform augmentation"): training
// audio is speed-, gain-, noise- and reverb-perturbed on the fly and turned into fbank, while
// validation reads the stored features; a stopped and resumed run equals a straight one
// bit for bit (every draw is seeded by seed, epoch and sample index).
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "core/checkpoint.h"
#include "core/data/audio_writer.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

std::vector<std::string> inner_losses(const std::string& log) {
  std::vector<std::string> out;
  std::regex re("train_inner \\|.* loss=([^,\\s]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back((*it)[1]);
  return out;
}

// A copy of the fbank corpus whose train.tsv points at the utterances' audio (fbank on the fly,
// with augmentation) while dev.tsv keeps the stored features; a noise file and an impulse
// response made here.
std::string augmented_corpus(const std::string& fbank_data, const std::string& dir) {
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

}  // namespace

TEST_CASE("train with waveform augmentation: runs, validates on stored features, resumes bitwise",
          "[integration][train][augment]") {
  const std::string fbank = trellis::testing::train_corpus();
  if (fbank.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_augment");
  const std::string data = augmented_corpus(fbank, dir);
  const std::string base = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --dropout 0.1 --log-format simple --log-interval 1 "
      "--valid-subset dev --save-interval-updates 100 --encoder-layers 1 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1 --num-workers 2",
      bin("train"), data);
  auto straight = run_command(base + " --save-dir " + dir + "/a --max-update 6");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  CHECK(straight.output.find("valid on 'dev' subset") != std::string::npos);
  auto first = run_command(base + " --save-dir " + dir + "/b --max-update 3");
  REQUIRE(first.exit_code == 0);
  auto second = run_command(base + " --save-dir " + dir + "/b --max-update 6");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  auto losses_a = inner_losses(straight.output);
  auto losses_b = inner_losses(first.output);
  for (const auto& l : inner_losses(second.output)) losses_b.push_back(l);
  CHECK(losses_a.size() == 6);
  CHECK(losses_a == losses_b);
  auto a = trellis::load_checkpoint(dir + "/a/checkpoint_last.pt");
  auto b = trellis::load_checkpoint(dir + "/b/checkpoint_last.pt");
  REQUIRE(a.model.size() == b.model.size());
  for (const auto& [k, t] : a.model) {
    INFO(k);
    CHECK(torch::equal(t, b.model.at(k)));
  }

  // The augmentation is really on: without it the same run logs other losses.
  auto plain = run_command(base + " --config-yaml plain.yaml --save-dir " + dir +
                           "/c --max-update 3");
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  auto losses_c = inner_losses(plain.output);
  REQUIRE(losses_c.size() == 3);
  CHECK(std::vector<std::string>(losses_a.begin(), losses_a.begin() + 3) != losses_c);

  // --waveform-transforms overrides the config's training list: none = the plain run; a
  // sub-list keeps the config's options for the names it keeps.
  auto off = run_command(base + " --waveform-transforms none --save-dir " + dir +
                         "/d --max-update 3");
  INFO(off.output);
  REQUIRE(off.exit_code == 0);
  CHECK(inner_losses(off.output) == losses_c);
  auto gain_only = run_command(base + " --waveform-transforms gain --save-dir " + dir +
                               "/e --max-update 3");
  INFO(gain_only.output);
  REQUIRE(gain_only.exit_code == 0);
  CHECK(inner_losses(gain_only.output) != losses_c);
  auto unknown = run_command(base + " --waveform-transforms gian --save-dir " + dir +
                             "/f --max-update 3");
  CHECK(unknown.exit_code != 0);
  CHECK_THAT(unknown.output, Catch::Contains("gian"));
}
