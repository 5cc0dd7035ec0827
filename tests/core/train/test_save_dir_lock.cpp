// One run per save dir (docs/training.md, "One run per save dir"): the lock refuses a second
// holder with a message naming the folder and the holder, is released when its holder exits
// (even by SIGKILL), and a real `train` on a locked folder stops before writing anything.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/train/save_dir_lock.h"
#include "run_command.h"
#include "integration/train_corpus.h"
#include "skip.h"

namespace fs = std::filesystem;
using trellis::SaveDirLock;

TEST_CASE("save dir lock: a second holder is refused, naming folder and holder",
          "[unit][train][lock]") {
  const std::string dir = trellis::testing::fresh_dir("save_dir_lock") + "/ckpt";
  {
    SaveDirLock first(dir);
    CHECK(fs::is_directory(dir));
    try {
      SaveDirLock second(dir);  // another open file description: flock refuses it
      FAIL("the second lock was granted");
    } catch (const trellis::Error& e) {
      const std::string what = e.what();
      CHECK(what.find(dir) != std::string::npos);
      CHECK(what.find("pid " + std::to_string(getpid())) != std::string::npos);
    }
  }
  SaveDirLock again(dir);  // released by the destructor; the stale file does not block
}

TEST_CASE("save dir lock: a holder killed with SIGKILL never blocks a relaunch",
          "[unit][train][lock]") {
  const std::string dir = trellis::testing::fresh_dir("save_dir_lock_kill");
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    SaveDirLock held(dir);
    const char c = 'x';
    [[maybe_unused]] auto w = write(ready[1], &c, 1);
    for (;;) pause();
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  CHECK_THROWS_AS(SaveDirLock(dir), trellis::Error);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));
  SaveDirLock relaunch(dir);
  close(ready[0]);
  close(ready[1]);
}

TEST_CASE("train refuses a save dir another run holds and writes nothing into it",
          "[integration][train][lock]") {
  const std::string data = trellis::testing::train_corpus();
  if (data.empty()) trellis::testing::skip_test("espeak-ng or sox not installed");
  const std::string dir = trellis::testing::fresh_dir("train_lock") + "/ckpt";
  SaveDirLock held(dir);  // stands in for a running job
  auto r = trellis::testing::run_command(
      trellis::testing::bin("train") + " " + data +
      " --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam "
      "--lr 1e-3 --max-tokens 1000 --encoder-layers 1 --encoder-embed-dim 32 "
      "--encoder-attention-heads 2 --conv-channels 32 --max-update 1 --save-dir " + dir);
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("is in use by another training run") != std::string::npos);
  CHECK(r.output.find(dir) != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(dir) / "config.yaml"));
  CHECK_FALSE(fs::exists(fs::path(dir) / "checkpoint_last.pt"));
}
