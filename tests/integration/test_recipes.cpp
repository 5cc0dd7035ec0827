// examples/speech_to_text: the LibriSpeech and MuST-C data recipes on tiny fake trees spoken by
// espeak-ng (make_fake_corpora.sh), and the two seed command scripts on the MuST-C result.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "run_command.h"
#include "skip.h"

namespace fs = std::filesystem;
using trellis::testing::run_command;

namespace {

using Row = std::map<std::string, std::string>;

// A fairseq TSV manifest (header first, no quoting) as rows keyed by column name.
std::vector<Row> read_tsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<Row> rows;
  std::vector<std::string> cols;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, '\t')) f.push_back(cell);
    if (line.back() == '\t') f.push_back("");
    if (cols.empty()) {
      cols = f;
      continue;
    }
    Row r;
    for (size_t i = 0; i < cols.size() && i < f.size(); ++i) r[cols[i]] = f[i];
    rows.push_back(r);
  }
  return rows;
}

std::map<std::string, Row> by_id(const std::vector<Row>& rows) {
  std::map<std::string, Row> out;
  for (const auto& r : rows) out[r.at("id")] = r;
  return out;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kSrc = TRELLIS_SOURCE_DIR;
const std::string kEnv = "TRELLIS_BIN='" + std::string(TRELLIS_BINARY_DIR) + "/bin' ";

// Fresh fake trees in a folder of the test's own (CTest runs the test cases in parallel).
std::string fake_corpora(const std::string& test) {
  const std::string dir = trellis::testing::fresh_dir("recipes_" + test);
  auto r = run_command("bash " + kSrc + "/tests/integration/make_fake_corpora.sh " + dir);
  if (r.exit_code != 0) throw std::runtime_error("make_fake_corpora.sh failed:\n" + r.output);
  return dir;
}

bool have_tools() {
  return std::system("command -v espeak-ng > /dev/null 2>&1 && command -v sox > /dev/null 2>&1") ==
         0;
}

}  // namespace

TEST_CASE("prepare_librispeech.sh: one manifest per split, lower-cased text, speakers",
          "[integration][recipes]") {
  if (!have_tools()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string root = fake_corpora("librispeech"), out = root + "/librispeech_out";
  auto r = run_command(kEnv + "VOCAB_SIZE=40 bash " + kSrc +
                       "/examples/speech_to_text/prepare_librispeech.sh " + root + "/LibriSpeech " +
                       out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"config.yaml", "fbank80.zip", "spm_unigram40.model", "spm_unigram40.txt"})
    CHECK(fs::exists(fs::path(out) / f));
  auto train = by_id(read_tsv(out + "/train-clean-100.tsv"));
  REQUIRE(train.size() == 3);
  const std::map<std::string, std::pair<std::string, std::string>> want = {
      {"19-198-0000", {"the cat sees the dog", "19"}},
      {"19-198-0001", {"a small bird sings today", "19"}},
      {"26-495-0000", {"my old house is big", "26"}}};
  for (const auto& [id, text_speaker] : want) {
    INFO(id);
    REQUIRE(train.count(id));
    CHECK(train[id]["tgt_text"] == text_speaker.first);
    CHECK(train[id]["src_text"] == text_speaker.first);  // for speech_to_text_ctc
    CHECK(train[id]["speaker"] == text_speaker.second);
    CHECK(std::stoi(train[id]["n_frames"]) > 50);
    CHECK_THAT(train[id]["audio"], Catch::StartsWith(out + "/fbank80.zip:"));
  }
  auto dev = by_id(read_tsv(out + "/dev-clean.tsv"));
  REQUIRE(dev.size() == 2);
  CHECK(dev["84-121123-0001"]["tgt_text"] == "good morning to you");

  // No split folder: an error naming the folder.
  fs::create_directories(root + "/empty");
  r = run_command(kEnv + "bash " + kSrc + "/examples/speech_to_text/prepare_librispeech.sh " +
                  root + "/empty " + root + "/empty_out");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("no LibriSpeech split folder in " + root + "/empty"));
}

TEST_CASE("prepare_mustc.sh: segments cut from the talks, translations, transcripts, tags",
          "[integration][recipes]") {
  if (!have_tools()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string root = fake_corpora("mustc"), out = root + "/mustc_st";
  const std::string cmd = kEnv + "SPLITS='train dev' VOCAB_SIZE=40 SRC_VOCAB_SIZE=30 bash " + kSrc +
                          "/examples/speech_to_text/prepare_mustc.sh " + root + "/MUSTC " + out;
  auto r = run_command(cmd);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto train = read_tsv(out + "/train_st.tsv");
  REQUIRE(train.size() == 5);
  const std::vector<std::vector<std::string>> want = {
      {"ted_1_0", "die katze sieht den hund", "the cat sees the dog", "spk.ted_1"},
      {"ted_1_1", "ein kleiner vogel singt", "a small bird sings", "spk.ted_1"},
      {"ted_1_2", "mein haus ist gross", "my house is big", "spk.ted_1"},
      {"ted_2_0", "guten morgen", "good morning", "spk.ted_2"},
      {"ted_2_1", "vielen dank", "thank you very much", "spk.ted_2"}};
  // Each segment's features span its YAML duration (100 frames per second, 25 ms windows).
  std::istringstream yaml(read(root + "/MUSTC/en-de/data/train/txt/train.yaml"));
  std::string entry;
  for (size_t i = 0; i < want.size(); ++i) {
    INFO(want[i][0]);
    CHECK(train[i]["id"] == want[i][0]);
    CHECK(train[i]["tgt_text"] == want[i][1]);
    CHECK(train[i]["src_text"] == want[i][2]);
    CHECK(train[i]["speaker"] == want[i][3]);
    CHECK(train[i]["tgt_lang"] == "de");
    std::getline(yaml, entry);
    const double duration = std::stod(entry.substr(entry.find("duration: ") + 10));
    CHECK(std::abs(std::stoi(train[i]["n_frames"]) - duration * 100) <= 3);
    CHECK(fs::exists(out + "/segments/train/" + want[i][0] + ".wav"));
  }
  auto dev = read_tsv(out + "/dev_st.tsv");
  REQUIRE(dev.size() == 2);
  CHECK(dev[1]["tgt_text"] == "der fluss ist ruhig");
  CHECK(dev[1]["src_text"] == "the river is quiet");
  const std::string config = read(out + "/config_st.yaml");
  CHECK_THAT(config, Catch::Contains("prepend_tgt_lang_tag: true") &&
                         Catch::Contains("vocab_filename_src: src_spm_unigram30.txt") &&
                         Catch::Contains("bpe_tokenizer_src: {bpe: sentencepiece"));
  CHECK(fs::exists(out + "/src_spm_unigram30.model"));
  CHECK_THAT(read(out + "/spm_unigram40.txt"), Catch::Contains("<lang:de>"));

  // A second run keeps the cut segments.
  const auto cut = fs::last_write_time(out + "/segments/train/ted_1_0.wav");
  r = run_command(cmd);
  REQUIRE(r.exit_code == 0);
  CHECK(fs::last_write_time(out + "/segments/train/ted_1_0.wav") == cut);

  // TASK=asr: the transcripts as targets, no tag.
  r = run_command(kEnv + "TASK=asr SPLITS='train dev' VOCAB_TYPE=char bash " + kSrc +
                  "/examples/speech_to_text/prepare_mustc.sh " + root + "/MUSTC " + root +
                  "/mustc_asr");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto asr = read_tsv(root + "/mustc_asr/train_asr.tsv");
  REQUIRE(asr.size() == 5);
  CHECK(asr[4]["tgt_text"] == "thank you very much");
  CHECK(asr[4]["src_text"] == "thank you very much");

  // A YAML that does not match the text files: an error with both counts.
  fs::copy(root + "/MUSTC", root + "/MUSTC_bad", fs::copy_options::recursive);
  std::ofstream(root + "/MUSTC_bad/en-de/data/dev/txt/dev.en", std::ios::app) << "one more\n";
  r = run_command(kEnv + "SPLITS=dev bash " + kSrc + "/examples/speech_to_text/prepare_mustc.sh " +
                  root + "/MUSTC_bad " + root + "/mustc_bad_out");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("dev: 2 segments in dev.yaml, 3 lines in dev.en"));
}

TEST_CASE("pretrain.sh and finetune.sh: the seed commands on the MuST-C recipe's output",
          "[integration][recipes]") {
  if (!have_tools()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string root = fake_corpora("seeds"), data = root + "/mustc_st";
  auto prep = run_command(kEnv + "SPLITS='train dev' VOCAB_SIZE=40 SRC_VOCAB_SIZE=30 bash " + kSrc +
                          "/examples/speech_to_text/prepare_mustc.sh " + root + "/MUSTC " + data);
  INFO(prep.output);
  REQUIRE(prep.exit_code == 0);
  // Small sizes appended to the seed flags (later flags win).
  const std::string small =
      " --encoder-layers 2 --decoder-layers 1 --encoder-embed-dim 64 --encoder-ffn-embed-dim 128"
      " --encoder-attention-heads 2 --decoder-embed-dim 64 --decoder-ffn-embed-dim 128"
      " --decoder-attention-heads 2 --conv-channels 64 --ctc-encoder-layer 1"
      " --conformer-conv-kernel-size 5 --threads 1 --max-update 2 --log-interval 1";
  const std::string env = kEnv + "DATA_ROOT=" + data + " ";
  auto r = run_command(env + "SAVE_DIR=" + root + "/pre bash " + kSrc +
                       "/examples/speech_to_text/pretrain.sh --warmup-updates 2" + small);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--criterion ctc_multi_loss") &&
                           Catch::Contains("--adam-betas \\(0.9\\,\\ 0.98\\)") &&
                           Catch::Contains("valid on 'dev_st' subset") &&
                           Catch::Contains("ctc_loss="));
  REQUIRE(fs::exists(root + "/pre/checkpoint_last.pt"));

  const std::string ft = env + "SAVE_DIR=" + root + "/ft PRETRAINED=" + root +
                         "/pre/checkpoint_last.pt bash " + kSrc +
                         "/examples/speech_to_text/finetune.sh" + small;
  r = run_command(ft);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("copied " + root + "/pre/checkpoint_last.pt") &&
                           Catch::Contains("--reset-optimizer") && Catch::Contains("lr=0.001") &&
                           Catch::Contains("num_updates=2"));
  // The relaunch resumes the fine-tuning job itself (no second copy, no reset).
  r = run_command(ft + " --max-update 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, !Catch::Contains("copied ") && Catch::Contains("resuming this job"));
}
