// The executables' contract: exit codes, error lines, help and dump-config.
#include <catch2/catch.hpp>

#include "run_command.h"

using trellis::testing::bin;
using trellis::testing::run_command;

TEST_CASE("unknown flag: exit code 2 and a suggestion", "[integration][cli]") {
  auto r = run_command(bin("train") + " data --max-token 40000");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("train: error: unrecognized argument --max-token; did "
                                       "you mean --max-tokens?"));
  r = run_command(bin("generate") + " data --beem 5");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("did you mean --beam?"));
}

TEST_CASE("train and generate print help and resolved configs", "[integration][cli]") {
  auto r = run_command(bin("train") + " --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--lr-scheduler") && Catch::Contains("--update-freq") &&
                           Catch::Contains("--save-interval-updates"));
  r = run_command(bin("generate") + " --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--beam") && Catch::Contains("--scoring") &&
                           Catch::Contains("wer") && !Catch::Contains("--wer-lowercase"));
  // A scorer's options are listed once it is selected (they belong to the scorer).
  r = run_command(bin("generate") + " --scoring wer --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("--wer-lowercase") && Catch::Contains("--wer-tokenizer"));
  r = run_command(bin("generate") + " /d --path a.pt:b.pt --beam 8 --dump-config");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("beam: 8") && Catch::Contains("path: \"a.pt:b.pt\""));
}

TEST_CASE("train refuses a run without its required components", "[integration][cli]") {
  auto r = run_command(bin("train") + " data --optimizer adam --lr-scheduler fixed");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--task is required"));
}
