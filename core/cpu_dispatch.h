#pragma once
// Hot loops compiled several times, for AVX-512 (F, BW, VL, DQ), AVX2 and the baseline, and
// picked by the running CPU (GCC/Clang on x86-64; elsewhere the baseline only). A kernel file
// writes its loop once as an always-inline body and wraps it in one function per ISA:
//   TRELLIS_TARGET(TRELLIS_AVX512) void run_avx512(...) { body(...); }
// then calls run_avx512 when cpu_isa() == 2, run_avx2 when it is 1, else the plain function.

#if defined(__x86_64__) && defined(__GNUC__)
#define TRELLIS_X86_CLONES 1
#define TRELLIS_TARGET(isa) __attribute__((target(isa)))
#else
#define TRELLIS_TARGET(isa)
#endif
#define TRELLIS_AVX512 "avx512f,avx512bw,avx512vl,avx512dq,fma"
#define TRELLIS_AVX2 "avx2,fma"
#define TRELLIS_INLINE inline __attribute__((always_inline))

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace trellis {

// 2: AVX-512 with BW/VL/DQ and FMA, 1: AVX2 with FMA, 0: the baseline (what the CPU runs).
// TRELLIS_CPU_ISA=baseline|avx2|avx512 lowers it (never raises it above the CPU's): to run, and
// compare, the variant another machine would run (docs/benchmarks.md).
inline int cpu_isa() {
#ifdef TRELLIS_X86_CLONES
  static const int isa = [] {
    __builtin_cpu_init();
    int level = 0;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
      level = 2;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      level = 1;
    if (const char* cap = std::getenv("TRELLIS_CPU_ISA")) {
      const std::string c = cap;
      const int want = c == "baseline" ? 0 : c == "avx2" ? 1 : c == "avx512" ? 2 : -1;
      if (want < 0) {
        std::fprintf(stderr, "TRELLIS_CPU_ISA=%s: expected baseline, avx2 or avx512\n", cap);
        std::exit(2);
      }
      level = std::min(level, want);
    }
    return level;
  }();
  return isa;
#else
  return 0;
#endif
}
}  // namespace trellis
