// examples/wav2vec2: the two seed-situation scripts with tiny model sizes appended, on the raw-
// audio test corpus (train_corpus.h). finetune_large_pinyin.sh: syllable targets from
// make_syllable_vocab.sh with weights from a Hugging Face pytorch_model.bin (onecycle), then
// character ("hanzi") targets starting from that run's checkpoint_last.pt (linear warm-up and
// decay).
// finetune_base_commonvoice.sh: a Common Voice release table normalised by normalize_text.sh and
// prepared with --input-format commonvoice, weights from a model.safetensors, the frozen feature
// encoder, the last 2 interval checkpoints kept, early stopping on WER, a relaunch that resumes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::run_command;

namespace {

const std::string kSrc = TRELLIS_SOURCE_DIR;
const std::string kEnv = "TRELLIS_BIN='" + std::string(TRELLIS_BINARY_DIR) + "/bin' ";
const std::string kData = TRELLIS_TEST_DATA;

// Appended to the scripts' flags (later flags win): the shapes of the tiny wav2vec2 fixtures
// (tests/data/goldens/wav2vec2/*.config.json), 6 updates, ~7 batches per epoch, one thread.
const std::string kTiny =
    " --conv-feature-layers '[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2'"
    " --encoder-embed-dim 64 --encoder-layers 2 --encoder-attention-heads 4"
    " --encoder-ffn-embed-dim 128 --max-update 6 --max-tokens 200000 --log-interval 1"
    " --threads 1";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// checkpoint_E_U.pt files in `dir`.
int interval_checkpoints(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += std::regex_match(e.path().filename().string(), std::regex("checkpoint_\\d+_\\d+\\.pt"));
  return n;
}

}  // namespace

TEST_CASE("examples/wav2vec2: finetune_large_pinyin.sh with syllable and character targets",
          "[integration][wav2vec2]") {
  const std::string corpus = trellis::testing::train_corpus_raw();
  if (corpus.empty()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  // A private copy of the manifests (the audio paths in them are absolute): the shared corpus
  // folder is not written to.
  const std::string dir = trellis::testing::fresh_dir("wav2vec2_examples_large");
  const std::string data = dir + "/data";
  fs::create_directories(data);
  for (const char* f : {"train.tsv", "dev.tsv", "dict.txt", "config.yaml"})
    fs::copy_file(corpus + "/" + f, data + "/" + f);

  // Without the syllable vocabulary, TARGETS=pinyin says what to run.
  auto r = run_command(kEnv + "DATA_ROOT=" + data + " SAVE_DIR=" + dir + "/none bash " + kSrc +
                       "/examples/wav2vec2/finetune_large_pinyin.sh");
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("config_syllables.yaml: missing") &&
                           Catch::Contains("make_syllable_vocab.sh"));
  CHECK_FALSE(fs::exists(dir + "/none"));

  // Word-level units: every token of the training transcripts, no subword tokenizer.
  r = run_command("bash " + kSrc + "/examples/wav2vec2/make_syllable_vocab.sh " + data);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string dict = read(data + "/dict_syllables.txt");
  CHECK(std::regex_search(dict, std::regex("(^|\n)the [0-9]+\n")));  // a whole word
  CHECK_THAT(dict, !Catch::Contains("|"));
  const std::string config = read(data + "/config_syllables.yaml");
  CHECK_THAT(config, Catch::Contains("vocab_filename: dict_syllables.txt") &&
                         !Catch::Contains("bpe_tokenizer:") &&
                         Catch::Contains("use_audio_input: true"));

  // Syllables, onecycle, a Hugging Face pytorch_model.bin of the LV-60 layout (its 12-output
  // head is replaced: the vocabulary differs).
  const std::string w2v = kData + "/wav2vec2/w2v2_large_tiny.pytorch_model.bin";
  r = run_command(kEnv + "DATA_ROOT=" + data + " SAVE_DIR=" + dir + "/pinyin W2V_PATH=" + w2v +
                  " VALID_INTERVAL=2 bash " + kSrc + "/examples/wav2vec2/finetune_large_pinyin.sh" +
                  kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--arch wav2vec2_ctc_large_lv60") &&
                           Catch::Contains("--optimizer adamw") &&
                           Catch::Contains("--weight-decay 0.01") &&
                           Catch::Contains("--lr-scheduler onecycle") &&
                           Catch::Contains("--update-freq 2") && Catch::Contains("--clip-norm 5") &&
                           Catch::Contains("--validate-interval-updates 2"));
  CHECK_THAT(r.output, Catch::Contains("target dictionary size (dict_syllables.txt)") &&
                           Catch::Contains("loaded 70 tensors") &&
                           Catch::Contains("CTC head newly initialized") &&
                           Catch::Contains("valid on 'dev' subset") &&
                           Catch::Contains("best_wer") && Catch::Contains("num_updates=6"));
  CHECK(fs::exists(dir + "/pinyin/checkpoint_best.pt"));
  CHECK(fs::exists(dir + "/pinyin/checkpoint_last.pt"));
  CHECK(interval_checkpoints(dir + "/pinyin") >= 1);

  // Characters (what hanzi targets are), linear warm-up over 2 updates then decay, best
  // checkpoint by the unit (character) error rate; the weights come from the first run's
  // checkpoint (a trellis checkpoint is a torch pickle --w2v-path reads), whose syllable head
  // does not fit the character vocabulary.
  const std::string first = dir + "/pinyin/checkpoint_last.pt";
  r = run_command(kEnv + "DATA_ROOT=" + data + " SAVE_DIR=" + dir + "/hanzi W2V_PATH=" + first +
                  " TARGETS=hanzi SCHEDULE=linear WARMUP_UPDATES=2 VALID_INTERVAL=2 KEEP=2 bash " +
                  kSrc + "/examples/wav2vec2/finetune_large_pinyin.sh" + kTiny);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains(first + ": loaded 70 tensors") &&
                           Catch::Contains(first + ": CTC head newly initialized") &&
                           Catch::Contains("--config-yaml config.yaml") &&
                           Catch::Contains("--post-process letter") &&
                           Catch::Contains("--lr-scheduler polynomial_decay --power 1") &&
                           Catch::Contains("--warmup-updates 2") &&
                           Catch::Contains("num_updates=2, lr=5e-05,") &&
                           Catch::Contains("best_uer"));
  CHECK(fs::exists(dir + "/hanzi/checkpoint_best.pt"));
  CHECK(interval_checkpoints(dir + "/hanzi") <= 2);
}

TEST_CASE("examples/wav2vec2: finetune_base_commonvoice.sh on a Common Voice table",
          "[integration][wav2vec2]") {
  const std::string fbank = trellis::testing::train_corpus();
  if (fbank.empty()) {
    trellis::testing::skip_test("espeak-ng or sox not installed");
  }
  const std::string clips = (fs::path(fbank).parent_path() / "corpus").string();
  const std::string dir = trellis::testing::fresh_dir("wav2vec2_examples_cv");

  // A Common Voice release table (client_id path sentence ...) of the corpus clips, with
  // capitals and punctuation in the sentences.
  fs::create_directories(dir + "/cv");
  {
    std::ofstream tsv(dir + "/cv/validated.tsv");
    tsv << "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\t"
           "segment\n";
    std::vector<fs::path> texts;
    for (const auto& e : fs::directory_iterator(clips))
      if (e.path().extension() == ".txt") texts.push_back(e.path());
    std::sort(texts.begin(), texts.end());
    REQUIRE(texts.size() == 40);
    for (size_t i = 0; i < texts.size(); ++i) {
      std::string text = read(texts[i].string());
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
      tsv << "client" << i % 4 << "\t" << texts[i].stem().string() << ".wav\t" << text
          << ", right?\t2\t0\t\t\t\ten\t\n";
    }
  }
  auto r = run_command("bash " + kSrc + "/examples/wav2vec2/normalize_text.sh " + dir +
                       "/cv/validated.tsv " + dir + "/cv/validated.norm.tsv");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string norm = read(dir + "/cv/validated.norm.tsv");
  CHECK_THAT(norm, Catch::StartsWith("client_id\tpath\tsentence\t") &&
                       Catch::Contains(" right\t2\t0\t") && !Catch::Contains("right?") &&
                       !Catch::Contains(","));

  // The README's prepare command: raw audio, a character vocabulary with `|` between words.
  const std::string data = dir + "/data";
  r = run_command(trellis::testing::bin("prepare") + " --input-format commonvoice --input " + dir +
                  "/cv/validated.norm.tsv --clips-dir " + clips + " --output-dir " + data +
                  " --splits train:0.75,dev:0.25 --features raw --vocab-type char --no-progress");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string dict = read(data + "/dict.txt");
  CHECK_THAT(dict, Catch::StartsWith("| ") && !Catch::Contains(",") && !Catch::Contains("?"));
  CHECK_THAT(read(data + "/config.yaml"), Catch::Contains("use_audio_input: true"));

  // wav2vec2-base-960h's layout from a model.safetensors; 6 updates in one epoch of 7 with
  // evaluation and saving every 2: checkpoints at 2, 4 and 6, of which the last 2 stay.
  const std::string script = kEnv + "DATA_ROOT=" + data + " SAVE_DIR=" + dir +
                             "/save W2V_PATH=" + kData +
                             "/goldens/wav2vec2/w2v2_base_tiny.model.safetensors VALID_INTERVAL=2"
                             " bash " + kSrc + "/examples/wav2vec2/finetune_base_commonvoice.sh" +
                             kTiny;
  r = run_command(script);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--arch wav2vec2_ctc_base") &&
                           Catch::Contains("--freeze-feature-encoder") &&
                           Catch::Contains("--checkpoint-activations") &&
                           Catch::Contains("--keep-interval-updates 2") &&
                           Catch::Contains("--best-checkpoint-metric wer --patience 3") &&
                           Catch::Contains("loaded 51 tensors") &&
                           Catch::Contains("valid on 'dev' subset") && Catch::Contains("best_wer"));
  // The frozen feature encoder is not trained.
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m,
                            std::regex("num\\. model params: (\\d+) \\(num\\. trained: (\\d+)\\)")));
  CHECK(std::stoll(m[2]) < std::stoll(m[1]));
  CHECK(interval_checkpoints(dir + "/save") == 2);
  CHECK_FALSE(fs::exists(dir + "/save/checkpoint_1_2.pt"));
  CHECK_FALSE(fs::exists(dir + "/save/checkpoint1.pt"));  // --no-epoch-checkpoints
  CHECK(fs::exists(dir + "/save/checkpoint_best.pt"));
  CHECK(fs::exists(dir + "/save/checkpoint_last.pt"));

  // A relaunch with more updates resumes the job (W2V_PATH is not read again) and stops on
  // --patience 3: the WER of the barely trained model (LR still warming up) never improves on
  // the first validation's.
  r = run_command(script + " --max-update 20");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("resuming this job") &&
                           !Catch::Contains("loaded 51 tensors") &&
                           Catch::Contains("early stop since valid performance hasn't improved "
                                           "for last 3 runs (best wer ="));
  CHECK_THAT(r.output, !Catch::Contains("num_updates=20"));
  CHECK(interval_checkpoints(dir + "/save") == 2);
}
