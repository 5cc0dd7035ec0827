#include "core/train/cpu_bf16.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace trellis {
namespace {

std::set<std::string> split_words(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

}  // namespace

std::string cpu_flags_from_cpuinfo(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key != "flags" && key != "Features") continue;
    std::string value = line.substr(colon + 1);
    const size_t first = value.find_first_not_of(" \t");
    return first == std::string::npos ? "" : value.substr(first);
  }
  return "";
}

std::string this_cpu_flags() {
  if (const char* forced = std::getenv("TRELLIS_CPU_FLAGS")) return forced;  // tests
  std::ifstream f("/proc/cpuinfo");
  if (!f) return "";
  std::ostringstream text;
  text << f.rdbuf();
  return cpu_flags_from_cpuinfo(text.str());
}

std::vector<std::string> missing_bf16_flags(const std::string& flags) {
  const std::set<std::string> have = split_words(flags);
  if (have.count("avx512_bf16") || have.count("amx_bf16")) return {};
  return {"avx512_bf16", "amx_bf16"};
}

std::string bf16_speed_warning(const std::string& flags) {
  if (flags.find_first_not_of(" \t") == std::string::npos)
    return "--bf16: could not read this CPU's flags (/proc/cpuinfo); bfloat16 is faster than "
           "float32 only on CPUs with avx512_bf16 or amx_bf16, and slower on others";
  const std::vector<std::string> missing = missing_bf16_flags(flags);
  if (missing.empty()) return "";
  const std::set<std::string> have = split_words(flags);
  const bool avx512 = have.count("avx512bw") && have.count("avx512vl") && have.count("avx512dq");
  std::string names;
  for (const auto& m : missing) names += (names.empty() ? "" : " nor ") + m;
  return "--bf16: this CPU has neither " + names +
         " (no bfloat16 instructions), so bf16 training will be slower than float32 here: " +
         (avx512 ? "oneDNN emulates the bfloat16 matmuls and convolutions with AVX-512"
                 : "without AVX-512 (avx512bw, avx512vl, avx512dq) LibTorch runs the bfloat16 "
                   "matmuls in its generic, unvectorised kernels") +
         "; drop --bf16 on this machine (docs/training.md, \"bf16 on the CPU\")";
}

}  // namespace trellis
