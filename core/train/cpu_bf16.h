#pragma once
// Whether this CPU runs bfloat16 at speed (--bf16, docs/training.md "bf16 on the CPU"). LibTorch
// 1.13 sends bf16 matmuls and convolutions to oneDNN, which is fast only with the bf16 dot-product
// instructions (avx512_bf16) or AMX (amx_bf16); with AVX-512 (avx512bw/vl/dq) but neither, oneDNN
// emulates bf16, and without AVX-512 LibTorch uses its generic bf16 gemm: slower than float32.

#include <string>
#include <vector>

namespace trellis {

// The CPU flags of the first processor in a /proc/cpuinfo text: its "flags" line (x86) or
// "Features" line (aarch64) after the colon, space-separated; "" when there is none.
std::string cpu_flags_from_cpuinfo(const std::string& cpuinfo);

// The flags of this machine (/proc/cpuinfo); "" when unreadable (not Linux). The environment
// variable TRELLIS_CPU_FLAGS, when set, replaces them (tests of the warning on another CPU).
std::string this_cpu_flags();

// The bf16 instruction flags missing from `flags` (space-separated, as /proc/cpuinfo), in the
// order avx512_bf16, amx_bf16; empty when either is present (bf16 runs at speed).
std::vector<std::string> missing_bf16_flags(const std::string& flags);

// The warning --bf16 logs once on such a CPU (it names the missing flags and says that bf16
// will be slower than float32 here); "" when the CPU has avx512_bf16 or amx_bf16. Empty
// `flags` (unknown CPU) gives a warning that says the flags could not be read.
std::string bf16_speed_warning(const std::string& flags);

}  // namespace trellis
