// The real `generate` binary on checkpoints that `train` wrote in the test: CTC (greedy and
// prefix beam search) and attention beam search, fairseq's output lines and score line, the
// checkpoint alone rebuilding vocabularies (a data folder with only the manifest), errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

const char* kTiny =
    " --encoder-layers 1 --decoder-layers 1 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64"
    " --encoder-attention-heads 2 --decoder-embed-dim 32 --decoder-ffn-embed-dim 64"
    " --decoder-attention-heads 2 --conv-channels 32 --conformer-conv-kernel-size 5 --threads 1"
    " --log-format simple --valid-subset dev --max-tokens 2000 --no-epoch-checkpoints";

int count_lines(const std::string& text, const std::string& prefix) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) ++n;
  return n;
}

}  // namespace

TEST_CASE("generate: CTC greedy and prefix beam search on a checkpoint train wrote",
          "[integration][generate]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("generate_ctc");
  auto t = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 2e-3 --max-update 4 --save-dir {}{}",
      bin("train"), data, dir, kTiny));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  // A data folder with only the manifest: vocabularies and config come from the checkpoint.
  fs::create_directories(dir + "/only_tsv");
  fs::copy_file(data + "/dev.tsv", dir + "/only_tsv/dev.tsv");
  for (int beam : {1, 3}) {
    auto r = run_command(fmt::format("{} {}/only_tsv --gen-subset dev --path {}/checkpoint_last.pt "
                                     "--beam {} --scoring wer --threads 1",
                                     bin("generate"), dir, dir, beam));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(count_lines(r.output, "T-") == 10);
    CHECK(count_lines(r.output, "H-") == 10);
    CHECK(count_lines(r.output, "D-") == 10);
    CHECK(std::regex_search(r.output, std::regex(fmt::format(
                                          "Generate dev with beam={}: WER: [0-9]+\\.[0-9]{{2}}",
                                          beam))));
    CHECK(r.output.find("s of audio per second") != std::string::npos);
  }
  // --model-overrides: options of the stored --arch, applied before the model is built. Eval
  // ignores dropout, so the hypotheses stay; one encoder layer fewer than the weights has
  // fails their strict loading, which proves the override reached the model.
  const std::string gen = fmt::format(
      "{} {}/only_tsv --gen-subset dev --path {}/checkpoint_last.pt --scoring wer --threads 1",
      bin("generate"), dir, dir);
  auto plain = run_command(gen);
  auto dropout = run_command(gen + " --model-overrides \"{'dropout': 0.5, 'encoder_layers': 1}\"");
  INFO(dropout.output);
  REQUIRE(dropout.exit_code == 0);
  CHECK(dropout.output.find("--model-overrides sets dropout of --arch conformer_ctc to 0.5") !=
        std::string::npos);
  auto hyps = [](const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (line.rfind("D-", 0) == 0) out += line + "\n";
    return out;
  };
  CHECK(hyps(dropout.output) == hyps(plain.output));
  auto fewer = run_command(gen + " --model-overrides \"{'encoder_layers': 0}\"");
  CHECK(fewer.exit_code != 0);
  auto unknown = run_command(gen + " --model-overrides \"{'encoder_layer': 2}\"");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("--model-overrides: 'encoder_layer' is not an option of " + dir +
                            "/checkpoint_last.pt's --arch conformer_ctc") != std::string::npos);
  auto malformed = run_command(gen + " --model-overrides \"{'dropout' 0.5}\"");
  CHECK(malformed.exit_code == 2);
  CHECK(malformed.output.find("':' expected at character 12") != std::string::npos);
}

TEST_CASE("generate: attention beam search on the seed model, --results-path, errors",
          "[integration][generate]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("generate_att");
  auto t = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer --criterion ctc_multi_loss "
      "--underlying-criterion label_smoothed_cross_entropy --label-smoothing 0.1 --ctc-weight 0.5 "
      "--ctc-encoder-layer 1 --optimizer adam --lr 2e-3 --max-update 4 --save-dir {}{}",
      bin("train"), data, dir, kTiny));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  const std::string gen = fmt::format("{} {} --gen-subset dev --path {}/checkpoint_last.pt "
                                      "--threads 1 --scoring wer --max-len-b 20",
                                      bin("generate"), data, dir);
  auto r = run_command(gen + " --beam 3 --nbest 2 --results-path " + dir + "/out");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(r.output, std::regex("Generate dev with beam=3: WER: [0-9.]+")));
  std::ifstream in(dir + "/out/generate-dev.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string file = ss.str();
  CHECK(count_lines(file, "T-") == 10);
  CHECK(count_lines(file, "H-") == 20);  // --nbest 2
  CHECK(count_lines(file, "P-") == 20);
  // P- holds one base-2 log-probability per token, eos included: as many as the H- pieces + 1.
  std::smatch m;
  REQUIRE(std::regex_search(file, m, std::regex("H-(\\d+)\\t(-?[0-9.e+-]+)\\t([^\\n]*)\\n")));
  std::istringstream pieces(m[3].str());
  int n_pieces = 0;
  for (std::string p; pieces >> p;) ++n_pieces;
  std::smatch pm;
  REQUIRE(std::regex_search(file, pm, std::regex("P-" + m[1].str() + "\\t([^\\n]*)\\n")));
  std::istringstream scores(pm[1].str());
  int n_scores = 0;
  for (std::string s; scores >> s;) ++n_scores;
  CHECK(n_scores == n_pieces + 1);

  // An ensemble of a checkpoint with itself decodes as the checkpoint alone (the scores agree
  // up to the rounding of logsumexp(lp, lp) - log 2).
  const std::string single = run_command(gen + " --beam 2").output;
  const std::string twice =
      run_command(fmt::format("{} {} --gen-subset dev --path {}/checkpoint_last.pt:{}/"
                              "checkpoint_last.pt --threads 1 --scoring wer --max-len-b 20 "
                              "--beam 2",
                              bin("generate"), data, dir, dir))
          .output;
  auto hyp_lines = [](const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Generate", 0) == 0) out += line + "\n";
      if (line.rfind("D-", 0) != 0) continue;
      const auto id_end = line.find('\t'), score_end = line.find('\t', id_end + 1);
      out += line.substr(0, id_end) + line.substr(score_end) + "\n";  // id and text, no score
    }
    return out;
  };
  CHECK(twice.find("ensemble of 2 checkpoints") != std::string::npos);
  CHECK(hyp_lines(twice) == hyp_lines(single));
  CHECK(count_lines(single, "D-") == 10);

  // Joint CTC/attention: the CTC head of ctc_multi_loss predicts the transcript units, the
  // same characters as the targets here (src_text = tgt_text, one dict.txt).
  auto joint = run_command(gen + " --beam 3 --ctc-weight 0.3");
  INFO(joint.output);
  CHECK(joint.exit_code == 0);
  CHECK(count_lines(joint.output, "D-") == 10);
  auto no_tags = run_command(gen + " --scoring lid_acc");
  CHECK(no_tags.exit_code == 2);
  CHECK(no_tags.output.find("--scoring lid_acc needs targets that start with a language tag") !=
        std::string::npos);
  auto bad = run_command(gen + " --ctc-weight 1.5");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("--ctc-weight must be in [0, 1]") != std::string::npos);
  auto missing = run_command(fmt::format("{} {} --path {}/nope.pt", bin("generate"), data, dir));
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("checkpoint " + dir + "/nope.pt: no such file") != std::string::npos);
}

TEST_CASE("generate: --scoring lid_acc on targets with language tags", "[integration][generate]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("generate_lid");
  // The test corpus with a tgt_lang column (en, fr alternating) and prepend_tgt_lang_tag.
  const std::string tagged = dir + "/data";
  auto prep = run_command(fmt::format(
      "mkdir -p {1} && cp {0}/config.yaml {0}/dict.txt {1}/ && "
      "printf '\\nprepend_tgt_lang_tag: true\\n' >> {1}/config.yaml && "
      "printf '<lang:en> 1\\n<lang:fr> 1\\n' >> {1}/dict.txt && for s in train dev; do "
      "awk -F'\\t' 'NR == 1 {{ print $0 \"\\ttgt_lang\"; next }} "
      "{{ print $0 \"\\t\" (NR % 2 ? \"en\" : \"fr\") }}' {0}/$s.tsv > {1}/$s.tsv; done",
      data, tagged));
  INFO(prep.output);
  REQUIRE(prep.exit_code == 0);
  auto t = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer --criterion ctc_multi_loss "
      "--underlying-criterion label_smoothed_cross_entropy --ignore-prefix-size 1 "
      "--ctc-encoder-layer 1 --optimizer adam --lr 2e-3 --max-update 3 --save-dir {}{}",
      bin("train"), tagged, dir, kTiny));
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
  auto r = run_command(fmt::format("{} {} --gen-subset dev --path {}/checkpoint_last.pt --beam 2 "
                                   "--scoring lid_acc --max-len-b 10 --threads 1",
                                   bin("generate"), tagged, dir));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(std::regex_search(
      r.output, std::regex("Generate dev with beam=2: ACC: [0-9]+\\.[0-9]{2} \\([0-9]+/10\\)")));
  // With the tag forced from the reference every sentence is right.
  auto forced = run_command(fmt::format("{} {} --gen-subset dev --path {}/checkpoint_last.pt "
                                        "--beam 2 --scoring lid_acc --prefix-size 1 "
                                        "--max-len-b 10 --threads 1",
                                        bin("generate"), tagged, dir));
  CHECK(forced.output.find("ACC: 100.00 (10/10)") != std::string::npos);
}
