// Data-parallel training on c10d/Gloo over loopback with the real `train` binary: 2 processes
// with half the batch each equal 1 process with the whole batch; a 2-process run resumes to the
// same result; a killed worker stops the others with a clear error. Plus the rank/rendezvous
// resolution (core/distributed/communicator.h) on made-up environments.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>

#include "core/checkpoint.h"
#include "core/distributed/communicator.h"
#include "core/error.h"
#include "core/train_options.h"
#include "run_command.h"
#include "skip.h"
#include "augment_corpus.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using trellis::testing::bin;
using trellis::testing::run_command;

namespace {

// A small conformer CTC run without dropout: every rank seeds its masks with seed + update (as
// fairseq), so with dropout 2 ranks differ from 1 process by their masks.
std::string run(const std::string& data, const std::string& save, const std::string& extra) {
  return fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 2e-3 --lr-scheduler inverse_sqrt --warmup-updates 2 --clip-norm 5 --max-tokens 1000 "
      "--dropout 0 --conformer-feedforward-dropout 0 --conformer-attention-dropout 0 "
      "--conformer-conv-dropout 0 --log-format simple --log-interval 1 --valid-subset dev --save-dir {} "
      "--encoder-layers 1 --encoder-embed-dim 32 --encoder-ffn-embed-dim 64 "
      "--encoder-attention-heads 2 --conv-channels 32 --threads 1 --no-epoch-checkpoints {}",
      bin("train"), data, save, extra);
}

// Largest |a - b| / max(1, |b|) over the parameters: absolute for small weights, relative for
// large ones, where one float32 ulp is already above 1e-6 (BatchNorm statistics are per rank,
// as in fairseq, and left out).
double max_param_diff(const std::string& a_path, const std::string& b_path) {
  auto a = trellis::load_checkpoint(a_path).model;
  auto b = trellis::load_checkpoint(b_path).model;
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (const auto& [k, t] : a) {
    if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos)
      continue;
    const at::Tensor ref = b.at(k).to(torch::kDouble);
    worst = std::max(
        worst, ((t.to(torch::kDouble) - ref).abs() / ref.abs().clamp_min(1.0)).max().item<double>());
  }
  return worst;
}

// The value of `key` on the last validation line.
std::string valid_value(const std::string& log, const std::string& key) {
  std::smatch m;
  std::string last;
  auto it = log.cbegin();
  const std::regex re("valid on 'dev' subset \\|.* " + key + " ([0-9.]+)");
  while (std::regex_search(it, log.cend(), m, re)) {
    last = m[1];
    it = m.suffix().first;
  }
  return last;
}

}  // namespace

TEST_CASE("distributed: 2 Gloo processes with half the batch each equal 1 process",
          "[integration][distributed]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_equal");
  // With --update-freq 1 each update adds the same two gradients in the same order: 1e-6.
  // With --update-freq 2 the four micro-batch gradients are added in another order (rank
  // partial sums, then across ranks): float32 rounding of large reductions (a convolution
  // bias's gradient sums every frame) reaches ~1.2e-6 with SGD, and Adam's division by sqrt(v)
  // lifts that of near-zero gradients to a few 1e-6 after 3 updates.
  struct Case {
    int update_freq;
    const char* optimizer;
    double tolerance;
  };
  for (const Case c : {Case{1, "adam --lr 2e-3", 1e-6}, Case{2, "sgd --lr 0.1", 5e-6},
                       Case{2, "adam --lr 2e-3", 1e-5}}) {
    const int uf = c.update_freq;
    INFO("--update-freq " << uf << " on 2 processes, --optimizer " << c.optimizer);
    const std::string two = fmt::format("{}/two_{}", dir, uf), one = fmt::format("{}/one_{}", dir, uf);
    fs::remove_all(two);
    fs::remove_all(one);
    const std::string opt = fmt::format("--max-update 3 --optimizer {} ", c.optimizer);
    auto a = run_command(run(data, two,
                             opt + fmt::format("--distributed-world-size 2 --update-freq {}", uf)));
    INFO(a.output);
    REQUIRE(a.exit_code == 0);
    CHECK(a.output.find("starting 2 workers") != std::string::npos);
    auto b = run_command(run(data, one, opt + fmt::format("--update-freq {}", 2 * uf)));
    INFO(b.output);
    REQUIRE(b.exit_code == 0);
    CHECK(max_param_diff(two + "/checkpoint_last.pt", one + "/checkpoint_last.pt") < c.tolerance);
    CHECK(trellis::load_checkpoint(two + "/checkpoint_last.pt").num_updates == 3);
    // Validation is sharded and its sums reduced: the whole dev set is counted. (The loss is
    // close, not equal: BatchNorm statistics are rank 0's, from half the batches.)
    CHECK(valid_value(a.output, "nsentences") == "10");
    CHECK(valid_value(a.output, "ntokens") == valid_value(b.output, "ntokens"));
    CHECK(std::stod(valid_value(a.output, "loss")) ==
          Approx(std::stod(valid_value(b.output, "loss"))).epsilon(0.05));
  }
}

TEST_CASE("distributed: with --sync-buckets, 2 processes equal 1 process in a new batch order",
          "[integration][distributed][sync_buckets]") {
  // The batches are shuffled in groups of processes x --update-freq = 2 in both runs, so each
  // update trains the same two (length-neighbour) batches; the order is not fairseq's.
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_sync_buckets");
  const std::string opt = "--max-update 3 --optimizer adam --lr 2e-3 --sync-buckets ";
  auto a = run_command(run(data, dir + "/two", opt + "--distributed-world-size 2 --update-freq 1"));
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  CHECK(a.output.find("--sync-buckets: batches shuffled in groups of 2") != std::string::npos);
  auto b = run_command(run(data, dir + "/one", opt + "--update-freq 2"));
  INFO(b.output);
  REQUIRE(b.exit_code == 0);
  CHECK(b.output.find("--sync-buckets: batches shuffled in groups of 2") != std::string::npos);
  CHECK(max_param_diff(dir + "/two/checkpoint_last.pt", dir + "/one/checkpoint_last.pt") < 1e-6);
  auto c = run_command(run(data, dir + "/fairseq", "--max-update 3 --optimizer adam --lr 2e-3 "
                                                   "--update-freq 2"));
  REQUIRE(c.exit_code == 0);
  CHECK(max_param_diff(dir + "/fairseq/checkpoint_last.pt", dir + "/one/checkpoint_last.pt") >
        1e-4);
}

TEST_CASE("distributed: with waveform augmentation, 2 processes equal 1 process",
          "[integration][distributed][augment]") {
  // Every sample's speed, gain, noise and reverb draws come from (seed, epoch, sample index), so
  // the ranks augment their halves exactly as one process augments the whole batch.
  const std::string fbank = trellis::testing::train_corpus();
  if (fbank.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_augment");
  const std::string data = trellis::testing::augmented_corpus(fbank, dir);
  const std::string opt = "--max-update 3 --optimizer adam --lr 2e-3 ";
  auto a = run_command(run(data, dir + "/two", opt + "--distributed-world-size 2 --update-freq 1"));
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  auto b = run_command(run(data, dir + "/one", opt + "--update-freq 2"));
  INFO(b.output);
  REQUIRE(b.exit_code == 0);
  CHECK(max_param_diff(dir + "/two/checkpoint_last.pt", dir + "/one/checkpoint_last.pt") < 1e-6);
  // Without augmentation the run differs: the draws are really there.
  auto c =
      run_command(run(data, dir + "/plain", opt + "--update-freq 2 --waveform-transforms none"));
  REQUIRE(c.exit_code == 0);
  CHECK(max_param_diff(dir + "/plain/checkpoint_last.pt", dir + "/one/checkpoint_last.pt") > 1e-4);
}

TEST_CASE("distributed: a 2-process run stops, resumes, and ends as an uninterrupted one",
          "[integration][distributed]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_resume");
  const std::string two = " --distributed-world-size 2";
  REQUIRE(run_command(run(data, dir + "/a", "--max-update 4" + two)).exit_code == 0);
  REQUIRE(run_command(run(data, dir + "/b", "--max-update 2" + two)).exit_code == 0);
  auto r = run_command(run(data, dir + "/b", "--max-update 4" + two));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("resuming this job") != std::string::npos);
  CHECK(max_param_diff(dir + "/a/checkpoint_last.pt", dir + "/b/checkpoint_last.pt") == 0.0);
}

TEST_CASE("distributed: a killed worker stops the others with a clear error",
          "[integration][distributed]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_kill");
  const auto start = std::chrono::steady_clock::now();
  // Kill rank 1 (the launcher's second child) once training runs.
  auto r = run_command(fmt::format(
      "({} > {}/log 2>&1 & pid=$!; for i in $(seq 600); do grep -q 'num_updates=2' {}/log && "
      "break; sleep 0.1; done; kill -9 $(pgrep -P $pid | sort -n | tail -1); wait $pid; "
      "echo exit=$?); cat {}/log",
      run(data, dir, "--max-update 100000 --distributed-world-size 2 --distributed-timeout 60"),
      dir, dir, dir));
  INFO(r.output);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(r.output.find("exit=0") == std::string::npos);
  CHECK(std::regex_search(r.output, std::regex("worker rank 1 \\(pid [0-9]+\\) was killed by "
                                               "signal 9")));
  CHECK(r.output.find("rank 0 of 2:") != std::string::npos);  // the survivor names itself
  CHECK(seconds < 60);
  for (const auto& e : fs::directory_iterator(dir))
    CHECK(e.path().filename().string().rfind(".tmp.", 0) != 0);  // nothing half-written
  if (fs::exists(dir + "/checkpoint_last.pt"))
    CHECK_NOTHROW(trellis::load_checkpoint(dir + "/checkpoint_last.pt"));
}

TEST_CASE("distributed: SIGINT stops every worker after the same update; the run resumes",
          "[integration][distributed]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_signal");
  const std::string cmd = run(data, dir, "--distributed-world-size 2 --max-update 100000");
  auto r = trellis::testing::run_and_signal(cmd, dir, "num_updates=2", "INT");
  INFO(r.output);
  CHECK(r.output.find("exit=130") != std::string::npos);
  CHECK(r.output.find("passing it to the workers") != std::string::npos);
  REQUIRE(fs::exists(dir + "/checkpoint_last.pt"));
  const auto saved = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  CHECK(saved.num_updates >= 2);
  auto again = run_command(
      std::regex_replace(cmd, std::regex("--max-update 100000"),
                         fmt::format("--max-update {}", saved.num_updates + 1)));
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  CHECK(again.output.find("resuming this job") != std::string::npos);
  CHECK(trellis::load_checkpoint(dir + "/checkpoint_last.pt").num_updates ==
        saved.num_updates + 1);
}

TEST_CASE("distributed: rank and rendezvous from torchrun, SLURM or fairseq's flags",
          "[unit][distributed]") {
  using trellis::DistributedOptions;
  auto env_of = [](std::map<std::string, std::string> m) {
    return [m](const std::string& k) -> std::optional<std::string> {
      auto it = m.find(k);
      return it == m.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
  };
  DistributedOptions o;
  CHECK_FALSE(trellis::resolve_distributed(o, false, env_of({})));
  o.distributed_world_size = 4;
  CHECK(trellis::needs_spawn(o, env_of({})));

  auto torchrun = env_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                          {"MASTER_ADDR", "10.0.0.1"}, {"MASTER_PORT", "29511"}});
  CHECK_FALSE(trellis::needs_spawn(o, torchrun));
  auto s = trellis::resolve_distributed(o, false, torchrun);
  REQUIRE(s);
  CHECK(s->rank == 3);
  CHECK(s->world_size == 4);
  CHECK(s->local_rank == 1);
  CHECK(s->master_addr == "10.0.0.1");
  CHECK(s->port == 29511);
  CHECK(s->backend == "gloo");
  CHECK(trellis::resolve_distributed(o, true, torchrun)->backend == "nccl");

  auto slurm = env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                       {"MASTER_ADDR", "node1"}, {"MASTER_PORT", "29500"}});
  DistributedOptions any;
  s = trellis::resolve_distributed(any, false, slurm);
  REQUIRE(s);
  CHECK(s->rank == 5);
  CHECK(s->world_size == 8);

  DistributedOptions flags;
  flags.distributed_world_size = 2;
  flags.distributed_rank = 1;
  flags.distributed_init_method = "tcp://127.0.0.1:23456";
  s = trellis::resolve_distributed(flags, false, env_of({}));
  REQUIRE(s);
  CHECK(s->rank == 1);
  CHECK(s->port == 23456);
  CHECK_FALSE(trellis::needs_spawn(flags, env_of({})));
  flags.distributed_init_method = "file:///tmp/x";
  CHECK_THROWS_AS(trellis::resolve_distributed(flags, false, env_of({})), trellis::ConfigError);

  o.distributed_world_size = 2;  // disagrees with WORLD_SIZE=4
  CHECK_THROWS_WITH(trellis::resolve_distributed(o, false, torchrun),
                    Catch::Contains("disagrees"));
}

TEST_CASE("distributed: a frozen wav2vec2 body stays untouched by AdamW in 2 processes",
          "[integration][distributed][wav2vec2]") {
  // No rank has gradients for the body during --freeze-finetune-updates: it must not be reduced
  // as zeros and then weight-decayed (1 process skips it), so both runs end equal.
  const std::string data = trellis::testing::train_corpus_raw();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("dist_wav2vec2");
  auto cmd = [&](const std::string& save, const std::string& extra) {
    return fmt::format(
        "{} {} --task speech_to_text_ctc --arch wav2vec2_ctc --criterion ctc --valid-subset dev "
        "--max-source-positions 480000 --conv-feature-layers '[(32, 10, 5)] + [(32, 3, 2)] * 4 + "
        "[(32, 2, 2)] * 2' --encoder-embed-dim 32 --encoder-layers 1 --encoder-attention-heads 2 "
        "--encoder-ffn-embed-dim 64 --conv-pos 16 --conv-pos-groups 4 --activation-dropout 0 "
        "--layerdrop 0 --mask-prob 0 --freeze-finetune-updates 100 --optimizer adamw "
        "--weight-decay 0.1 --lr 1e-2 --lr-scheduler fixed --max-tokens 200000 --max-update 3 "
        "--threads 1 --no-epoch-checkpoints --disable-validation --save-dir {} {}",
        bin("train"), data, save, extra);
  };
  REQUIRE(run_command(cmd(dir + "/one", "")).exit_code == 0);
  auto r = run_command(cmd(dir + "/two", "--distributed-world-size 2"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto one = trellis::load_checkpoint(dir + "/one/checkpoint_last.pt").model;
  auto two = trellis::load_checkpoint(dir + "/two/checkpoint_last.pt").model;
  // Same seed, same initial weights, body frozen in both: bit-identical bodies (1 process never
  // touches it, tests/models/test_wav2vec2_training.cpp). The heads trained on other batch
  // splits, so they are not compared.
  for (const auto& [k, t] : one) {
    INFO(k);
    if (k.rfind("w2v_encoder.proj.", 0) != 0) CHECK(torch::equal(t, two.at(k)));
  }
}
