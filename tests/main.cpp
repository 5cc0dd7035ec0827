#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "skip.h"

namespace {

// Counts the failed assertions of the running test case, so that skip_test() (skip.h) never
// turns a failure into a skip.
struct FailureCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(Catch::TestCaseInfo const& info) override {
    TestEventListenerBase::testCaseStarting(info);
    trellis::testing::failed_assertions_in_test_case = 0;
  }
  bool assertionEnded(Catch::AssertionStats const& stats) override {
    if (!stats.assertionResult.isOk()) ++trellis::testing::failed_assertions_in_test_case;
    return true;
  }
};

}  // namespace

CATCH_REGISTER_LISTENER(FailureCounter)
