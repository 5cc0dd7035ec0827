#pragma once
// Skipping a test that cannot run here: a missing tool (espeak-ng, sox, Debian's python3-torch),
// or hardware the test is about (AVX-512). Catch2 v2 has no skip, so:
//   * a run of exactly one test case (what ctest does: one process per TEST_CASE) prints
//     "SKIPPED: <why>" to stderr and exits with status 77, which ctest reports as skipped
//     (SKIP_RETURN_CODE in cmake/TrellisDiscoverTests.cmake), never as passed;
//   * a run of several test cases (trellis_tests by hand) ends only this test case, with a
//     "SKIPPED: <why>" warning, and goes on with the others;
//   * after a failed assertion in the same test case it fails instead: a skip never hides a
//     failure.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace trellis::testing {

// ctest's SKIP_RETURN_CODE for every test (cmake/TrellisDiscoverTests.cmake).
inline constexpr int kSkipExitCode = 77;

// Failed assertions of the running test case (counted by the listener in tests/main.cpp).
inline int failed_assertions_in_test_case = 0;

// Whether this process runs exactly one test case.
inline bool runs_one_test_case() {
  auto config = Catch::getCurrentContext().getConfig();
  if (!config) return false;
  return Catch::filterTests(Catch::getAllTestCasesSorted(*config), config->testSpec(), *config)
             .size() == 1;
}

[[noreturn]] inline void skip_test(const std::string& why) {
  if (failed_assertions_in_test_case > 0) {
    FAIL("not skipped after failed assertions (" << why << ")");
    throw Catch::TestFailureException{};  // not reached: FAIL throws
  }
  if (runs_one_test_case()) {
    std::cout.flush();
    std::cerr << "SKIPPED: " << why << std::endl;  // scripts/test.sh lists it after ctest
    std::fflush(nullptr);
    std::_Exit(kSkipExitCode);
  }
  WARN("SKIPPED: " << why);
  // Catch2 v2 ends a test case on this exception without counting a failure (it is what a
  // failed REQUIRE throws after reporting itself).
  throw Catch::TestFailureException{};
}

}  // namespace trellis::testing
