#pragma once
// Process set-up shared by the executables: BLAS kernel selection, compute threads, and the
// exception-to-exit-code boundary.
//
// Measured on this project's CPUs (docs/benchmarks.md): Debian's LibTorch calls whatever
// libblas.so.3 the alternatives system points to; the reference BLAS is ~30x slower than
// OpenBLAS; OpenBLAS 0.3.21 does not know Zen 5 and picks AVX2 kernels unless
// OPENBLAS_CORETYPE is set before it is loaded; LibTorch defaults to half the cores.

#include <functional>
#include <string>

namespace trellis {

// Call first in main(): when OpenBLAS is loaded, the CPU has AVX-512 and OpenBLAS picked other
// kernels, re-executes this program once with OPENBLAS_CORETYPE=SkylakeX (unless the user set
// OPENBLAS_CORETYPE or TRELLIS_NO_BLAS_REEXEC). Returns normally when nothing is to be done.
void maybe_reexec_for_blas(int argc, char** argv);

struct RuntimeInfo {
  std::string blas;       // "OpenBLAS 0.3.21 ... (core SkylakeX)", "reference BLAS", ...
  std::string blas_path;  // the libblas.so.3 actually loaded
  bool reference_blas = false;
  int threads = 0;
};

// What BLAS this process uses (no side effects).
RuntimeInfo describe_blas();

// Sets the compute threads (--threads if > 0, else $OMP_NUM_THREADS, else every available
// core) and logs the BLAS and thread count, warning with the fix when the BLAS is the slow
// reference one.
RuntimeInfo setup_runtime(int64_t threads_flag);

// Runs a program body: ConfigError -> exit 2 (like argparse), other errors -> 1, with one
// "<program>: error: ..." line on stderr.
int run_program(const std::string& program, const std::function<int()>& body);

}  // namespace trellis
