// A worker that hangs (SIGSTOP) in a 2-process Gloo run: the other rank stops within
// --distributed-timeout with an error naming itself, the collective and the silent rank
// (core/distributed/heartbeat.h); the launcher then ends the stopped worker; nothing
// half-written is left in the save dir.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <regex>

#include "core/checkpoint.h"
#include "kill9.h"
#include "run_command.h"
#include "skip.h"
#include "train_corpus.h"

namespace fs = std::filesystem;
using namespace trellis::testing;

TEST_CASE("distributed: a stopped worker makes the other stop within --distributed-timeout",
          "[integration][distributed]") {
  const std::string data = train_corpus();
  if (data.empty()) skip_test("espeak-ng or sox not installed");
  const std::string dir = fresh_dir("dist_hang");
  const int timeout_s = 6;
  const std::string cmd = fmt::format(
      "{} {} --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --log-format simple --log-interval 1 --valid-subset dev "
      "--save-dir {} --save-interval-updates 1 --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-ffn-embed-dim 64 --encoder-attention-heads 2 --conv-channels 32 --threads 1 "
      "--max-update 100000 --distributed-world-size 2 --distributed-timeout {}",
      bin("train"), data, dir, timeout_s);
  const std::string log = dir + "/log";
  BackgroundProcess launcher(cmd, log);
  REQUIRE(wait_for_log(launcher, log, std::regex("num_updates=3"), 1));
  // Rank 1 is the launcher's second child.
  auto r = run_command(fmt::format("pgrep -P {} | sort -n | tail -1", launcher.pid()));
  const int rank1 = std::stoi(r.output);
  // If the test ends early, the stopped worker must not outlive it: while the launcher runs,
  // rank1 is still its (unreaped) child, so the pid is still that worker.
  struct Cleanup {
    BackgroundProcess& launcher;
    pid_t worker;
    ~Cleanup() {
      if (launcher.running()) ::kill(worker, SIGKILL);
    }
  } cleanup{launcher, rank1};
  REQUIRE(::kill(rank1, SIGSTOP) == 0);
  const auto stopped = std::chrono::steady_clock::now();
  // Rank 0 gives up within the timeout (plus the heartbeat's look-up, at most a few seconds).
  const bool rank0_gave_up =
      wait_for_log(launcher, log, std::regex("worker rank 0 \\(pid [0-9]+\\) exited"), 1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  const int status = launcher.wait();
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  const std::string out = read_text(log);
  INFO(out);
  CHECK(rank0_gave_up);
  CHECK(seconds < timeout_s + 5);
  CHECK(total < timeout_s + 15);  // the stopped worker is woken with SIGTERM, not left 30 s
  CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(out.find("rank 0 of 2:") != std::string::npos);
  CHECK(std::regex_search(out, std::regex("rank 1 has given no sign of life for [0-9.]+ s: it "
                                          "is stopped \\(SIGSTOP\\), frozen or gone")));
  CHECK(temporaries(dir).empty());  // nothing half-written
  if (fs::exists(dir + "/checkpoint_last.pt"))
    CHECK_NOTHROW(trellis::load_checkpoint(dir + "/checkpoint_last.pt"));
}
