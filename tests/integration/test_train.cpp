// The real `train` binary on a tiny espeak-ng corpus (train_corpus.h): the seed commands, the
// fine-tuning resume with --reset-* flags, resume equivalence, patience and retention, signals.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "core/checkpoint.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;
using trellis::testing::inner_values;

namespace {

// Small sizes appended to the seed commands (later flags win).
const char* kSmallConformer =
    " --encoder-layers 2 --decoder-layers 1 --encoder-embed-dim 64 --encoder-ffn-embed-dim 128"
    " --encoder-attention-heads 2 --decoder-embed-dim 64 --decoder-ffn-embed-dim 128"
    " --decoder-attention-heads 2 --conv-channels 64 --ctc-encoder-layer 1"
    " --conformer-conv-kernel-size 5 --threads 1";

std::string seed_pretraining(const std::string& data, const std::string& save) {
  return fmt::format(
      "{} {} --train-subset train --valid-subset dev --save-dir {} --ignore-prefix-size 1 "
      "--num-workers 5 --max-update 200000 --patience 30 --save-interval-updates 1000 "
      "--max-tokens 40000 --adam-betas '(0.9, 0.98)' --user-dir examples/speech_to_text "
      "--task speech_to_text_ctc --config-yaml config_st.yaml --criterion ctc_multi_loss "
      "--underlying-criterion label_smoothed_cross_entropy --label-smoothing 0.1 --arch conformer "
      "--ctc-encoder-layer 8 --ctc-weight 0.5 --ctc-compress-strategy avg --optimizer adam "
      "--lr 2e-3 --lr-scheduler inverse_sqrt --warmup-updates 25000 --clip-norm 10.0 --seed 1 "
      "--update-freq 2 --skip-invalid-size-inputs-valid-test --log-format simple",
      bin("train"), data, save);
}

#define SKIP_WITHOUT_CORPUS(data) \
  if ((data).empty()) trellis::testing::skip_test("espeak-ng or sox not installed")

}  // namespace

TEST_CASE("train: the seed pre-training command trains, then fine-tuning resumes with resets",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  SKIP_WITHOUT_CORPUS(data);
  const std::string dir = trellis::testing::fresh_dir("train_seed");
  const std::string pre = seed_pretraining(data, dir + "/pre") + kSmallConformer +
                          " --config-yaml config.yaml --max-update 6 --save-interval-updates 3"
                          " --max-tokens 3000 --warmup-updates 4 --log-interval 1";
  auto r = run_command(pre);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* f : {"checkpoint_last.pt", "checkpoint_best.pt", "config.yaml",
                        "metrics.jsonl"})
    CHECK(fs::exists(dir + "/pre/" + f));
  CHECK(inner_values(r.output, "num_updates") ==
        std::vector<std::string>{"1", "2", "3", "4", "5", "6"});
  // inverse_sqrt, --lr 2e-3 --warmup-updates 4: lr(k) = 2e-3 k/4, then 2e-3 sqrt(4/k) (the
  // LR logged after update k is the one update k+1 uses).
  CHECK(inner_values(r.output, "lr") == std::vector<std::string>{"0.0005", "0.001", "0.0015",
                                                                 "0.002", "0.00178885",
                                                                 "0.00163299"});
  CHECK(r.output.find("valid on 'dev' subset") != std::string::npos);
  CHECK(r.output.find("ctc_loss") != std::string::npos);
  auto last = trellis::load_checkpoint(dir + "/pre/checkpoint_last.pt");
  CHECK(last.num_updates == 6);
  CHECK(last.criterion == "ctc_multi_loss");
  CHECK(last.lr_scheduler == "inverse_sqrt");

  // FBK's recipe: copy the pre-trained checkpoint into the new save dir as checkpoint_last.pt
  // and launch the fine-tuning command (fixed LR 1e-3, reset flags).
  fs::create_directories(dir + "/ft");
  fs::copy_file(dir + "/pre/checkpoint_last.pt", dir + "/ft/checkpoint_last.pt");
  std::string ft = pre;
  ft = std::regex_replace(ft, std::regex("--save-dir \\S+"), "--save-dir " + dir + "/ft");
  ft = std::regex_replace(ft, std::regex("--lr-scheduler inverse_sqrt"), "--lr-scheduler fixed");
  ft = std::regex_replace(ft, std::regex("--lr 2e-3"), "--lr 1e-3");
  ft = std::regex_replace(ft, std::regex("--warmup-updates \\S+"), "");
  ft += " --reset-lr-scheduler --reset-optimizer --reset-dataloader --max-update 4";
  r = run_command(ft);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("restoring") != std::string::npos);
  // --reset-optimizer: the update count starts again from 0; the fixed LR is 1e-3.
  CHECK(inner_values(r.output, "num_updates") ==
        std::vector<std::string>{"1", "2", "3", "4"});
  for (const auto& lr : inner_values(r.output, "lr")) CHECK(lr == "0.001");
  auto ft_last = trellis::load_checkpoint(dir + "/ft/checkpoint_last.pt");
  CHECK(ft_last.num_updates == 4);
  CHECK(ft_last.lr_scheduler == "fixed");
  // A fresh Adam: its step count restarted with the fine-tuning (6 pre-training steps before).
  CHECK(last.optimizer_state.at("state.0.step").item<int64_t>() == 6);
  CHECK(ft_last.optimizer_state.at("state.0.step").item<int64_t>() == 4);

  // A relaunch of the fine-tuning job resumes its own checkpoint: no reset applied again.
  r = run_command(std::regex_replace(ft, std::regex("--max-update 4"), "--max-update 6"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("resuming this job") != std::string::npos);
  CHECK(inner_values(r.output, "num_updates") == std::vector<std::string>{"5", "6"});
}

TEST_CASE("train: N updates, stop, resume, N updates equals 2N straight (bitwise)",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  SKIP_WITHOUT_CORPUS(data);
  const std::string dir = trellis::testing::fresh_dir("train_resume");
  const std::string base = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --lr-scheduler inverse_sqrt --warmup-updates 3 --max-tokens 1000 "
      "--update-freq 2 --dropout 0.1 --clip-norm 5 --log-format simple --log-interval 1 "
      "--valid-subset dev --save-interval-updates 100 --encoder-layers 2 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1 --num-workers 2",
      bin("train"), data);
  auto straight = run_command(base + " --save-dir " + dir + "/a --max-update 8");
  INFO(straight.output);
  REQUIRE(straight.exit_code == 0);
  auto first = run_command(base + " --save-dir " + dir + "/b --max-update 3");  // mid-epoch
  REQUIRE(first.exit_code == 0);
  auto second = run_command(base + " --save-dir " + dir + "/b --max-update 8");
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  CHECK(second.output.find("resuming this job") != std::string::npos);

  // Same batches and losses after the resume.
  auto losses_a = inner_values(straight.output, "loss");
  auto losses_b = inner_values(first.output, "loss");
  for (const auto& l : inner_values(second.output, "loss")) losses_b.push_back(l);
  CHECK(losses_a == losses_b);
  trellis::testing::check_same_model(dir + "/a/checkpoint_last.pt",
                                     dir + "/b/checkpoint_last.pt");
  auto a = trellis::load_checkpoint(dir + "/a/checkpoint_last.pt");
  auto b = trellis::load_checkpoint(dir + "/b/checkpoint_last.pt");
  CHECK(a.num_updates == 8);
  CHECK(b.num_updates == 8);
  CHECK(a.train_iterator.epoch == b.train_iterator.epoch);
  CHECK(a.train_iterator.iterations_in_epoch == b.train_iterator.iterations_in_epoch);
}

TEST_CASE("train: patience stops at the right validation; retention keeps the expected files",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  SKIP_WITHOUT_CORPUS(data);
  const std::string dir = trellis::testing::fresh_dir("train_patience");
  // LR 0: the validation WER stays 100 (BatchNorm statistics still move the loss a little), so
  // --patience 2 stops at the third validation (update 3, a validation after every update).
  auto r = run_command(fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer sgd "
      "--lr 0 --max-tokens 2000 --batch-size 2 --log-format simple --valid-subset dev "
      "--save-dir {} "
      "--save-interval-updates 1 --keep-interval-updates 2 --patience 2 --max-update 50 "
      "--best-checkpoint-metric wer "
      "--encoder-layers 1 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
      "--encoder-attention-heads 2 --conv-channels 32 --dropout 0 --threads 1",
      bin("train"), data, dir));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("early stop since valid performance hasn't improved for last 2 runs") !=
        std::string::npos);
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pt") files.insert(e.path().filename());
  CHECK(files == std::set<std::string>{"checkpoint_1_2.pt", "checkpoint_1_3.pt",
                                       "checkpoint_best.pt", "checkpoint_last.pt"});
  auto last = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  CHECK(last.num_updates == 3);
  CHECK(last.patience_runs == 2);
  // Ties count as best (fairseq's <=): the last validation's WER equals the first's.
  auto best = trellis::load_checkpoint(dir + "/checkpoint_best.pt");
  CHECK(best.num_updates == 3);
}

TEST_CASE("train: SIGINT saves checkpoint_last.pt and exits 130; the next run resumes",
          "[integration][train]") {
  const std::string data = trellis::testing::train_corpus();
  SKIP_WITHOUT_CORPUS(data);
  const std::string dir = trellis::testing::fresh_dir("train_signal");
  const std::string cmd = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --log-format simple --log-interval 1 --valid-subset dev "
      "--save-dir {} --max-update 1000 --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-ffn-embed-dim 64 --encoder-attention-heads 2 --conv-channels 32 --threads 1",
      bin("train"), data, dir);
  auto r = trellis::testing::run_and_signal(cmd, dir, "num_updates=2", "INT");
  INFO(r.output);
  CHECK(r.output.find("exit=130") != std::string::npos);
  CHECK(r.output.find("stopped by signal 2") != std::string::npos);
  REQUIRE(fs::exists(dir + "/checkpoint_last.pt"));
  auto saved = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  CHECK(saved.num_updates >= 2);
  auto again = run_command(cmd + fmt::format(" --max-update {}", saved.num_updates + 1));
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(again.output.find("resuming this job") != std::string::npos);
  CHECK(inner_values(again.output, "num_updates") ==
        std::vector<std::string>{std::to_string(saved.num_updates + 1)});
}
