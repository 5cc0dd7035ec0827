// `generate --lm-path` with the real binaries: an n-gram LM fused into CTC prefix beam search
// on a checkpoint `train` wrote; a transformer LM trained by `train --task language_modeling`
// (loss and ppl logged, resumed) fused into CTC prefix beam search. Weight 0 prints exactly the
// hypotheses and scores of decoding without an LM; a weighted LM runs; a missing or malformed
// LM is an error naming it. bench/run_lm_fusion.sh is the full version (WER with and without).
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

// The H- and D- lines of generate's output.
std::string hypothesis_lines(const std::string& out) {
  std::istringstream in(out);
  std::string kept;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("H-", 0) == 0 || line.rfind("D-", 0) == 0) kept += line + "\n";
  return kept;
}

// A unigram ARPA over the words of the manifests' tgt_text (uniform, each word once).
void write_unigram_arpa(const std::string& data, const std::string& path) {
  std::set<std::string> words;
  for (const char* split : {"train", "dev"}) {
    std::ifstream tsv(data + "/" + split + ".tsv");
    std::string line;
    std::getline(tsv, line);  // header: id audio n_frames tgt_text ...
    while (std::getline(tsv, line)) {
      std::vector<std::string> cols;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
      std::istringstream text(cols.at(3));
      for (std::string w; text >> w;) words.insert(w);
    }
  }
  std::ofstream out(path);
  out << "\\data\\\nngram 1=" << words.size() + 3 << "\n\n\\1-grams:\n-99\t<s>\n-1.0\t</s>\n"
      << "-3.0\t<unk>\n";
  for (const auto& w : words) out << "-1.5\t" << w << "\n";
  out << "\n\\end\\\n";
}

}  // namespace

TEST_CASE("generate: --lm-path fuses an n-gram LM into CTC prefix beam search",
          "[integration][generate][lm]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("generate_lm");
  auto t = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 2e-3 --max-update 4 --save-dir {} --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-ffn-embed-dim 64 --encoder-attention-heads 2 --conv-channels 32 "
      "--conformer-conv-kernel-size 5 --threads 1 --log-format simple --valid-subset dev "
      "--max-tokens 2000 --no-epoch-checkpoints",
      bin("train"), data, dir));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  write_unigram_arpa(data, dir + "/words.arpa");
  const std::string gen = fmt::format(
      "{} {} --gen-subset dev --path {}/checkpoint_last.pt "
      "--beam 4 --scoring wer --threads 1",
      bin("generate"), data, dir);
  const auto plain = run_command(gen);
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  const auto zero =
      run_command(gen + " --lm-path " + dir + "/words.arpa --lm-weight 0 --word-score 0");
  INFO(zero.output);
  REQUIRE(zero.exit_code == 0);
  CHECK(zero.output.find("LM fusion: " + dir + "/words.arpa (1-gram") != std::string::npos);
  CHECK(hypothesis_lines(plain.output).size() > 100);
  CHECK(hypothesis_lines(zero.output) == hypothesis_lines(plain.output));
  const auto weighted =
      run_command(gen + " --lm-path " + dir + "/words.arpa --lm-weight 0.5 --word-score 1");
  INFO(weighted.output);
  REQUIRE(weighted.exit_code == 0);
  CHECK(weighted.output.find("Generate dev with beam=4: WER:") != std::string::npos);
  CHECK(hypothesis_lines(weighted.output) != hypothesis_lines(plain.output));  // scores move

  const auto missing = run_command(gen + " --lm-path " + dir + "/nope.arpa");
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("--lm-path " + dir + "/nope.arpa: no such file") != std::string::npos);
  {
    std::ofstream bad(dir + "/bad.arpa");
    bad << "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-x\t</s>\n\\end\\\n";
  }
  const auto malformed = run_command(gen + " --lm-path " + dir + "/bad.arpa");
  CHECK(malformed.exit_code != 0);
  CHECK(malformed.output.find(dir + "/bad.arpa:6: '-x' is not a number") != std::string::npos);
}

TEST_CASE("train --task language_modeling, then generate --lm-path with the LM checkpoint",
          "[integration][generate][lm]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("generate_neural_lm");
  const std::string lm_train = fmt::format(
      "{} {} --task language_modeling --arch transformer_lm_gpt2_tiny --criterion cross_entropy "
      "--optimizer adam --lr 1e-3 --max-tokens 1024 --tokens-per-sample 256 "
      "--sample-break-mode eos --save-dir {}/lm --valid-subset dev --threads 1 --log-format "
      "simple --log-interval 1 --no-epoch-checkpoints --seed 3",
      bin("train"), data, dir);
  auto half = run_command(lm_train + " --max-update 3");
  INFO(half.output);
  REQUIRE(half.exit_code == 0);
  CHECK(half.output.find("valid on 'dev' subset | loss ") != std::string::npos);
  CHECK(half.output.find("| ppl ") != std::string::npos);
  auto resumed = run_command(lm_train + " --max-update 6");  // resumes checkpoint_last.pt
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.output.find("num_updates 6") != std::string::npos);
  // Resume equivalence: 3 + 3 updates give the parameters of 6 straight, bit for bit.
  std::string straight_cmd = lm_train + " --max-update 6";
  straight_cmd.replace(straight_cmd.find(dir + "/lm"), dir.size() + 3, dir + "/lm_straight");
  auto straight = run_command(straight_cmd);
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  trellis::testing::check_same_model(dir + "/lm/checkpoint_last.pt",
                                     dir + "/lm_straight/checkpoint_last.pt");

  auto t = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 2e-3 --max-update 4 --save-dir {}/asr --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-ffn-embed-dim 64 --encoder-attention-heads 2 --conv-channels 32 "
      "--conformer-conv-kernel-size 5 --threads 1 --log-format simple --valid-subset dev "
      "--max-tokens 2000 --no-epoch-checkpoints",
      bin("train"), data, dir));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  const std::string gen = fmt::format(
      "{} {} --gen-subset dev --path {}/asr/checkpoint_last.pt --beam 3 --scoring wer "
      "--threads 1",
      bin("generate"), data, dir);
  const auto plain = run_command(gen);
  REQUIRE(plain.exit_code == 0);
  const std::string lm = " --lm-path " + dir + "/lm/checkpoint_last.pt";
  const auto zero = run_command(gen + lm + " --lm-weight 0 --word-score 0");
  INFO(zero.output);
  REQUIRE(zero.exit_code == 0);
  CHECK(zero.output.find("token-level neural LM") != std::string::npos);
  CHECK(hypothesis_lines(zero.output) == hypothesis_lines(plain.output));
  const auto weighted = run_command(gen + lm + " --lm-weight 0.5 --beam-threshold 20");
  INFO(weighted.output);
  REQUIRE(weighted.exit_code == 0);
  CHECK(hypothesis_lines(weighted.output) != hypothesis_lines(plain.output));
  // An LM checkpoint given as the model, or an ASR checkpoint as the LM, is refused by name.
  const auto not_lm = run_command(gen + " --lm-path " + dir + "/asr/checkpoint_last.pt");
  CHECK(not_lm.exit_code != 0);
  CHECK(not_lm.output.find("is not a language model") != std::string::npos);
}
