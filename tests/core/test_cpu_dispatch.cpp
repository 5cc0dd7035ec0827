// core/cpu_dispatch.h: the kernel variant follows the CPU, capped by TRELLIS_CPU_ISA (the
// "kernels with TRELLIS_CPU_ISA=..." CTest entries rerun the [isa] tests under each cap).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "core/cpu_dispatch.h"

TEST_CASE("cpu_isa: the CPU's variant, never above the TRELLIS_CPU_ISA cap", "[unit][isa]") {
  const int isa = trellis::cpu_isa();
  CHECK(isa >= 0);
  CHECK(isa <= 2);
  CHECK(trellis::cpu_isa() == isa);  // decided once
  if (const char* cap = std::getenv("TRELLIS_CPU_ISA")) {
    const std::string c = cap;
    INFO("TRELLIS_CPU_ISA=" << c);
    if (c == "baseline") CHECK(isa == 0);
    if (c == "avx2") CHECK(isa <= 1);
  }
#ifndef TRELLIS_X86_CLONES
  CHECK(isa == 0);
#endif
}
