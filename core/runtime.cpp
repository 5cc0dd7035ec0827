#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "core/error.h"
#include "core/logging.h"

namespace trellis {
namespace {

const log::Logger logger("trellis.runtime");

using CharFn = char* (*)();
using IntFn = int (*)();

// The library that provides sgemm_ to LibTorch (the first definition in the global scope):
// what matrix products really run on, whatever else is loaded (OpenBLAS's liblapack.so.3 also
// defines the openblas_* functions next to a reference libblas.so.3).
std::string loaded_blas_path() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info{};
  if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr) return "";
  char real[PATH_MAX];
  return realpath(info.dli_fname, real) ? real : info.dli_fname;
}

std::string openblas_corename() {
  auto fn = reinterpret_cast<CharFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn ? fn() : "";
}

bool is_avx512_core(const std::string& core) {
  return core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
}

bool cpu_has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace

void maybe_reexec_for_blas(int argc, char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("TRELLIS_NO_BLAS_REEXEC")) return;
  std::string core = openblas_corename();
  if (core.empty() || !cpu_has_avx512()) return;
  if (is_avx512_core(core)) return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  setenv("TRELLIS_BLAS_REEXEC_FROM", core.c_str(), 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the kernels we have.
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("TRELLIS_BLAS_REEXEC_FROM");
}

RuntimeInfo describe_blas() {
  RuntimeInfo info;
  info.blas_path = loaded_blas_path();
  auto config = reinterpret_cast<CharFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (config && info.blas_path.find("openblas") != std::string::npos) {
    info.blas = fmt::format("{} (core {})", config(), openblas_corename());
  } else if (info.blas_path.find("/blas/") != std::string::npos) {
    info.blas = "reference BLAS (netlib)";
    info.reference_blas = true;
  } else {
    info.blas = info.blas_path.empty() ? "unknown (no libblas loaded)" : info.blas_path;
  }
  info.threads = at::get_num_threads();
  return info;
}

RuntimeInfo setup_runtime(int64_t threads_flag) {
  int threads = static_cast<int>(threads_flag);
  std::string source = "--threads";
  if (threads <= 0) {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    threads = omp ? std::atoi(omp) : 0;
    source = "OMP_NUM_THREADS";
  }
  if (threads <= 0) {
    threads = available_cores();
    source = "available cores";
  }
  at::set_num_threads(threads);
  RuntimeInfo info = describe_blas();
  logger.info("compute threads: {} ({}); BLAS: {} [{}]", info.threads, source, info.blas,
              info.blas_path);
  if (const char* from = std::getenv("TRELLIS_BLAS_REEXEC_FROM")) {
    logger.info("OpenBLAS picked '{}' kernels for this CPU; restarted once with "
                "OPENBLAS_CORETYPE=SkylakeX to use its AVX-512 kernels "
                "(set OPENBLAS_CORETYPE yourself to choose)",
                from);
  }
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::string core = openblas_corename();
  if (coretype && !info.reference_blas && !core.empty() && !is_avx512_core(core) &&
      cpu_has_avx512() &&
      !std::getenv("TRELLIS_BLAS_REEXEC_FROM")) {
    logger.info("OPENBLAS_CORETYPE={} is set, so OpenBLAS uses '{}' kernels; this CPU has "
                "AVX-512, where OPENBLAS_CORETYPE=SkylakeX measured ~2x faster (or unset it and "
                "trellis selects it)",
                coretype, core);
  }
  if (info.reference_blas) {
    logger.warn("the reference BLAS is loaded: matrix products run ~30x slower than with "
                "OpenBLAS. Fix: apt-get install libopenblas0-openmp && update-alternatives --set "
                "libblas.so.3-x86_64-linux-gnu "
                "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 "
                "(scripts/install_deps.sh does both)");
  }
  return info;
}

int run_program(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const ConfigError& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace trellis
