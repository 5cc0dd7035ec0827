// Registries: duplicates, unknown names, plugin staging; option keys and flags.
#include <catch2/catch.hpp>

#include "core/options.h"
#include "core/registry.h"

namespace {

struct RegTestOptions {
  int64_t n = 3;
  template <class V>
  void visit(V& v) {
    v.field("reg_test_n", n, "n");
  }
};
struct RegTestBase {
  virtual ~RegTestBase() = default;
  virtual int64_t value() const = 0;
};
struct RegTestImpl : RegTestBase {
  RegTestImpl(const RegTestOptions& o, int offset) : v(o.n + offset) {}
  int64_t value() const override { return v; }
  int64_t v;
};
using RegTestRegistry = trellis::Registry<RegTestBase, int>;
RegTestRegistry& reg_test_registry() {
  static RegTestRegistry r("reg_test", "--reg-test");
  return r;
}
TRELLIS_REGISTER(reg_test_registry(), "alpha", RegTestImpl, RegTestOptions, "first");

}  // namespace

TEST_CASE("registry builds components from their options", "[unit][registry]") {
  auto& r = reg_test_registry();
  REQUIRE(r.contains("alpha"));
  trellis::AnyOptions o = r.make_options("alpha");
  o.as<RegTestOptions>().n = 10;
  CHECK(r.create("alpha", o, 5)->value() == 15);
  CHECK_THAT(r.info("alpha").origin, Catch::Contains("builtin") &&
                                         Catch::Contains("test_registry.cpp"));
  CHECK(trellis::RegistryBase::find_kind("reg_test") == &r);
}

TEST_CASE("duplicate names name both origins", "[unit][registry]") {
  auto& r = reg_test_registry();
  try {
    trellis::make_registrar<RegTestImpl, RegTestOptions>(r, "alpha", "again", "other/file.cpp", 7);
    FAIL("duplicate accepted");
  } catch (const trellis::ConfigError& e) {
    std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("duplicate reg_test name 'alpha'") &&
                        Catch::Contains("test_registry.cpp") &&
                        Catch::Contains("other/file.cpp:7"));
  }
}

TEST_CASE("unknown names list the registered ones and hint at --user-dir", "[unit][registry]") {
  auto& r = reg_test_registry();
  try {
    r.info("alpah");
    FAIL("unknown name accepted");
  } catch (const trellis::ConfigError& e) {
    std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("unknown reg_test 'alpah'") &&
                        Catch::Contains("did you mean 'alpha'") &&
                        Catch::Contains("Registered: alpha") && Catch::Contains("--user-dir"));
  }
}

TEST_CASE("plugin registrations are staged until committed", "[unit][registry]") {
  auto& r = reg_test_registry();
  trellis::begin_plugin_registrations("/tmp/libfake.so");
  trellis::make_registrar<RegTestImpl, RegTestOptions>(r, "staged", "s", "fake.cpp", 1);
  CHECK_FALSE(r.contains("staged"));
  trellis::abort_plugin_registrations();
  CHECK_FALSE(r.contains("staged"));

  trellis::begin_plugin_registrations("/tmp/libfake.so");
  trellis::make_registrar<RegTestImpl, RegTestOptions>(r, "beta", "b", "fake.cpp", 2);
  trellis::commit_plugin_registrations();
  REQUIRE(r.contains("beta"));
  CHECK_THAT(r.info("beta").origin, Catch::Contains("plugin /tmp/libfake.so"));

  trellis::begin_plugin_registrations("/tmp/libfake2.so");
  trellis::make_registrar<RegTestImpl, RegTestOptions>(r, "beta", "b", "fake2.cpp", 3);
  CHECK_THROWS_WITH(trellis::commit_plugin_registrations(),
                    Catch::Contains("libfake.so") && Catch::Contains("libfake2.so"));
}

TEST_CASE("every registry kind exists at start-up", "[unit][registry]") {
  // The built-in names of each kind are checked next to their components (tests/optim/...).
  for (const char* kind :
       {"task", "model", "arch", "criterion", "optimizer", "lr_scheduler", "scorer"}) {
    INFO("registry " << kind);
    CHECK(trellis::RegistryBase::find_kind(kind) != nullptr);
  }
}

// A registry's flags and its components' option flags are spelled from the option keys.
TEST_CASE("to_flag and to_key are inverse", "[unit][options]") {
  CHECK(trellis::to_flag("max_tokens") == "--max-tokens");
  CHECK(trellis::to_key("--max-tokens") == "max_tokens");
}
