#include <catch2/catch.hpp>

#include "core/options.h"

TEST_CASE("to_flag and to_key are inverse", "[unit][options]") {
  CHECK(trellis::to_flag("max_tokens") == "--max-tokens");
  CHECK(trellis::to_key("--max-tokens") == "max_tokens");
}
