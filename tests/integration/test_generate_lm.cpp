// `generate --lm-path` with the real binaries: an n-gram LM fused into CTC prefix beam search
// on a checkpoint `train` wrote. Weight 0 prints exactly the hypotheses and scores of decoding
// without an LM; a weighted LM runs; a missing or malformed LM is an error naming it.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

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
  CHECK(missing.output.find(dir + "/nope.arpa: cannot open") != std::string::npos);
  {
    std::ofstream bad(dir + "/bad.arpa");
    bad << "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-x\t</s>\n\\end\\\n";
  }
  const auto malformed = run_command(gen + " --lm-path " + dir + "/bad.arpa");
  CHECK(malformed.exit_code != 0);
  CHECK(malformed.output.find(dir + "/bad.arpa:6: '-x' is not a number") != std::string::npos);
}
