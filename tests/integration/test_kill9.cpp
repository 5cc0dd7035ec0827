// Crash consistency (docs/reliability.md, "kill -9"): `train` killed with SIGKILL at random
// moments (during start-up, a step, validation, a checkpoint write) and relaunched with the
// same command ends with parameters and optimizer state bit for bit equal to an uninterrupted
// run (1 thread). CI kills at 3 points; bench/run_kill9.sh runs 20 or more:
//   TRELLIS_KILL9_POINTS=20 TRELLIS_KILL9_SEED=7 build/bin/trellis_tests "[kill9]"
// TRELLIS_KILL9_UPDATES sets --max-update, TRELLIS_KILL9_EXTRA appends flags to the command.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdlib>
#include <map>
#include <random>

#include "core/checkpoint.h"
#include "kill9.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"
#include "train_log.h"

namespace fs = std::filesystem;
using namespace trellis::testing;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : fallback;
}

// More flags for the run (later flags win), e.g. another --lr-scheduler.
std::string env_text(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// After a chain of kills and relaunches: the same model and optimizer state as the reference,
// no temporary file left, every metrics.jsonl line whole JSON.
void check_against_reference(const std::string& ref, const std::string& dir) {
  check_same_model(ref + "/checkpoint_last.pt", dir + "/checkpoint_last.pt");
  const auto a = trellis::load_checkpoint(ref + "/checkpoint_last.pt");
  const auto b = trellis::load_checkpoint(dir + "/checkpoint_last.pt");
  CHECK(a.num_updates == b.num_updates);
  REQUIRE(a.optimizer_state.size() == b.optimizer_state.size());
  for (const auto& [k, t] : a.optimizer_state) {
    INFO("optimizer state " << k);
    CHECK(torch::equal(t, b.optimizer_state.at(k)));
  }
  CHECK(torch::equal(a.rng_state, b.rng_state));
  CHECK(a.train_iterator.epoch == b.train_iterator.epoch);
  CHECK(a.train_iterator.iterations_in_epoch == b.train_iterator.iterations_in_epoch);
  CHECK(a.best == b.best);
  CHECK(temporaries(dir).empty());
  std::istringstream lines(read_text(dir + "/metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    INFO("metrics.jsonl line: " << line);
    CHECK(nlohmann::json::accept(line));
  }
}

}  // namespace

TEST_CASE("train: kill -9 at random moments and relaunches end bit for bit equal to one run",
          "[integration][slow][kill9]") {
  const std::string data = train_corpus();
  if (data.empty()) skip_test("espeak-ng or sox not installed");
  const int64_t points = env_int("TRELLIS_KILL9_POINTS", 3);
  const uint64_t seed = static_cast<uint64_t>(env_int("TRELLIS_KILL9_SEED", 20));
  // 9 updates per epoch: 3 points cross one epoch end, 20 points several.
  const int64_t max_update = env_int("TRELLIS_KILL9_UPDATES", points <= 3 ? 11 : 3 * points / 2 + 6);
  const std::string root = fresh_dir("kill9");
  // A validation and a checkpoint (checkpoint_E_U.pt, then copied to _best and _last, two
  // interval checkpoints kept) after every update: a kill often lands in one of them.
  const std::string cmd = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --lr-scheduler inverse_sqrt --warmup-updates 3 --max-tokens 1000 --dropout 0.1 "
      "--clip-norm 5 --log-format simple --log-interval 1 --valid-subset dev "
      "--save-interval-updates 1 --keep-interval-updates 2 --encoder-layers 2 "
      "--encoder-embed-dim 32 --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 "
      "--conv-channels 32 --conformer-conv-kernel-size 5 --threads 1 --num-workers 2 "
      "--max-update {}",
      bin("train"), data, max_update) + " " + env_text("TRELLIS_KILL9_EXTRA");

  // The reference, timed: start-up (to the first update) and seconds per update.
  const auto t0 = std::chrono::steady_clock::now();
  double startup_s = 0;
  {
    BackgroundProcess ref(cmd + " --save-dir " + root + "/ref", root + "/ref.log");
    REQUIRE(wait_for_log(ref, root + "/ref.log", std::regex("train_inner"), 1));
    startup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int status = ref.wait();
    INFO(read_text(root + "/ref.log"));
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double update_s = std::max(0.01, (total_s - startup_s) / double(max_update));

  std::mt19937_64 rng(seed);
  auto uniform = [&](double a, double b) { return std::uniform_real_distribution<>(a, b)(rng); };
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  std::map<std::string, int> landed;  // where the kills landed
  int64_t killed = 0, chains = 0, launches = 0;
  std::string dir;
  bool chain_open = false;
  auto finish_chain = [&] {
    for (int i = 0; i < 3; ++i) {  // a relaunch without a kill runs to the end
      const std::string log = fmt::format("{}/launch{}.log", dir, ++launches);
      BackgroundProcess p(cmd + " --save-dir " + dir, log);
      const int status = p.wait();
      INFO(read_text(log));
      REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
      if (read_text(log).find("nothing to train") != std::string::npos ||
          read_text(log).find("done training") != std::string::npos)
        break;
    }
    check_against_reference(root + "/ref", dir);
    chain_open = false;
  };
  while (killed < points) {
    if (!chain_open) {
      dir = fmt::format("{}/chain{}", root, ++chains);
      fs::create_directories(dir);
      chain_open = true;
    }
    const std::string log = fmt::format("{}/launch{}.log", dir, ++launches);
    BackgroundProcess p(cmd + " --save-dir " + dir, log);
    // Three ways to choose the moment, in turn: a random delay from the launch; the start of
    // the atomic writer's n-th file; a random delay after the n-th update's log line.
    switch (killed % 3) {
      case 0:
        std::this_thread::sleep_for(
            std::chrono::duration<double>(uniform(0.3 * startup_s, startup_s + 3 * update_s)));
        break;
      case 1:
        wait_for_nth_write(p, dir, pick(1, 6));
        break;
      default:
        wait_for_log(p, log, std::regex("train_inner"), static_cast<size_t>(pick(1, 2)));
        std::this_thread::sleep_for(std::chrono::duration<double>(uniform(0, update_s)));
    }
    p.kill9();
    const int status = p.wait();
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++killed;
      ++landed[kill_landed_in(read_text(log), dir, p.pid())];
    } else {
      INFO(read_text(log));
      REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // finished before the kill
      finish_chain();
    }
  }
  if (chain_open) finish_chain();
  std::string summary;
  for (const auto& [where, n] : landed) summary += fmt::format("{} in {}; ", n, where);
  WARN(fmt::format("kill -9 at {} points ({} chains, {} launches, seed {}, {} updates): {}",
                   killed, chains, launches, seed, max_update, summary));
}
