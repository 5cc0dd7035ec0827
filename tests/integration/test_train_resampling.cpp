// `train` on two training splits of different language pairs with sampling_alpha 0.5 (fairseq's
// temperature resampling, docs/tasks.md): the size ratios are logged, every epoch trains on a
// fresh draw, and a run stopped mid-epoch and resumed ends with the straight run's model.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using namespace trellis::testing;

namespace {

// DATA's train.tsv cut into train_big (first 22 rows, tgt_lang aa) and train_small (the other
// 8, tgt_lang bb), with its dev, vocabulary and config (+ sampling_alpha 0.5), under dir/data.
std::string two_pair_data(const std::string& data, const std::string& dir) {
  const fs::path out = fs::path(dir) / "data";
  fs::create_directories(out);
  for (const char* f : {"dev.tsv", "dict.txt"}) fs::copy_file(fs::path(data) / f, out / f);
  {
    std::ifstream in(fs::path(data) / "config.yaml");
    std::stringstream text;
    text << in.rdbuf();
    std::ofstream(out / "config.yaml") << text.str() << "sampling_alpha: 0.5\n";
  }
  std::ifstream in(fs::path(data) / "train.tsv");
  std::string header, line;
  std::getline(in, header);
  std::ofstream big(out / "train_big.tsv"), small(out / "train_small.tsv");
  big << header << "\ttgt_lang\n";
  small << header << "\ttgt_lang\n";
  for (int row = 0; std::getline(in, line); ++row)
    (row < 22 ? big : small) << line << (row < 22 ? "\taa\n" : "\tbb\n");
  return out.string();
}

}  // namespace

TEST_CASE("train: sampling_alpha draws each epoch's samples; a resume ends the same",
          "[integration][train][resampling]") {
  const std::string corpus = train_corpus();
  if (corpus.empty()) skip_test("espeak-ng or sox not installed");
  const std::string dir = fresh_dir("train_resampling");
  const std::string data = two_pair_data(corpus, dir);
  const std::string cmd = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --dropout 0.1 --log-format simple --log-interval 1 "
      "--train-subset train_big,train_small --valid-subset dev --encoder-layers 1 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1 --no-epoch-checkpoints",
      bin("train"), data);
  auto straight = run_command(cmd + " --save-dir " + dir + "/a --max-epoch 3");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  CHECK(straight.output.find("temperature resampling, sampling_alpha 0.5: balanced size ratio "
                             "per split: train_big: ->aa") != std::string::npos);
  CHECK(straight.output.find("batches are rebuilt per epoch") != std::string::npos);
  // The epochs see different draws: their sample counts (bsz summed) or token counts differ.
  std::regex epoch_line("\\| train \\| epoch (\\d+) \\|.* ntokens ([0-9.]+) \\| nsentences (\\d+)");
  std::vector<std::string> per_epoch;
  for (auto it = std::sregex_iterator(straight.output.begin(), straight.output.end(), epoch_line);
       it != std::sregex_iterator(); ++it)
    per_epoch.push_back((*it)[2].str() + "/" + (*it)[3].str());
  REQUIRE(per_epoch.size() == 3);
  CHECK((per_epoch[0] != per_epoch[1] || per_epoch[1] != per_epoch[2]));

  // Stopped after 4 updates (mid epoch 1), then resumed to the end of epoch 3.
  auto first = run_command(cmd + " --save-dir " + dir + "/b --max-update 4");
  REQUIRE(first.exit_code == 0);
  auto second = run_command(cmd + " --save-dir " + dir + "/b --max-epoch 3");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  check_same_model(dir + "/a/checkpoint_last.pt", dir + "/b/checkpoint_last.pt");
}
