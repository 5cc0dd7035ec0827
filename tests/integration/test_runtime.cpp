// Start-up: compute threads and BLAS reporting, AVX-512 kernel selection.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/runtime.h"
#include "run_command.h"
#include "skip.h"

using trellis::testing::bin;
using trellis::testing::run_command;

TEST_CASE("train reports its BLAS and thread count", "[integration][runtime]") {
  auto r = run_command("OMP_NUM_THREADS=1 " + bin("train") + " data --optimizer adam");
  CHECK_THAT(r.output, Catch::Contains("compute threads: 1 (OMP_NUM_THREADS)"));
  r = run_command("OMP_NUM_THREADS=1 " + bin("train") + " data --threads 3 --optimizer adam");
  CHECK_THAT(r.output, Catch::Contains("compute threads: 3 (--threads)"));
  r = run_command("env -u OMP_NUM_THREADS " + bin("train") + " data --optimizer adam");
  CHECK_THAT(r.output, Catch::Contains("(available cores)") && Catch::Contains("BLAS: "));
}

TEST_CASE("the project's install selects OpenBLAS, not the reference BLAS",
          "[integration][runtime]") {
  trellis::RuntimeInfo info = trellis::describe_blas();
  INFO("loaded BLAS: " << info.blas << " at " << info.blas_path);
  CHECK_FALSE(info.reference_blas);
  CHECK_THAT(info.blas, Catch::Contains("OpenBLAS"));
}

TEST_CASE("the reference BLAS is reported with the fix", "[integration][runtime]") {
  const std::string ref = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
  if (!std::ifstream(ref).good()) {
    trellis::testing::skip_test("no reference BLAS (Debian's libblas3) installed at " + ref);
  }
  auto r = run_command("LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas " + bin("train") +
                       " d --optimizer adam");
  CHECK_THAT(r.output, Catch::Contains("BLAS: reference BLAS") &&
                           Catch::Contains("WARNING") &&
                           Catch::Contains("update-alternatives --set libblas.so.3"));
}

TEST_CASE("AVX-512 OpenBLAS kernels are selected when OPENBLAS_CORETYPE is unset",
          "[integration][runtime]") {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq")) {
    trellis::testing::skip_test("CPU without AVX-512: nothing to select");
  }
  // OpenBLAS forced to AVX2 kernels: trellis keeps the user's choice and says what is faster.
  auto forced = run_command("OPENBLAS_CORETYPE=Haswell " + bin("train") + " d --optimizer adam");
  CHECK_THAT(forced.output, Catch::Contains("core Haswell") &&
                                Catch::Contains("OPENBLAS_CORETYPE=SkylakeX"));
  // Unset: the process ends up on AVX-512 kernels (OpenBLAS's own pick or trellis's restart).
  auto chosen = run_command("env -u OPENBLAS_CORETYPE " + bin("train") + " d --optimizer adam");
  bool avx512 = chosen.output.find("core SkylakeX") != std::string::npos ||
                chosen.output.find("core Cooperlake") != std::string::npos ||
                chosen.output.find("core SapphireRapids") != std::string::npos;
  INFO(chosen.output);
  CHECK(avx512);
}
