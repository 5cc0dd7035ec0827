// --bf16 on a CPU without bfloat16 instructions (docs/training.md, "bf16 on the CPU"): the flags
// are read from /proc/cpuinfo, the warning names the missing flags and says bf16 is slower, and
// `train --bf16` logs it exactly once (none on a CPU with avx512_bf16 or AMX).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/train/cpu_bf16.h"
#include "integration/train_corpus.h"
#include "run_command.h"
#include "skip.h"

using namespace trellis;

namespace {

// Two processors as Linux prints them (abridged): the first one's flags count.
const char* kCpuinfo =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "model name\t: Intel(R) Xeon(R) Processor\n"
    "flags\t\t: fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile\n"
    "bugs\t\t: spectre_v1\n"
    "\n"
    "processor\t: 1\n"
    "flags\t\t: fpu sse2\n";

// An AMD EPYC (Zen 3) with AVX2 only, and a Skylake-SP with AVX-512 but no bf16.
const char* kAvx2 = "fpu sse2 avx avx2 fma";
const char* kAvx512 = "fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl avx512_vnni";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("cpu bf16: the flags line of /proc/cpuinfo", "[unit][train][bf16]") {
  CHECK(cpu_flags_from_cpuinfo(kCpuinfo) ==
        "fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile");
  CHECK(cpu_flags_from_cpuinfo("processor : 0\nFeatures\t: fp asimd bf16\n") == "fp asimd bf16");
  CHECK(cpu_flags_from_cpuinfo("processor : 0\nmodel name : x\n").empty());
  CHECK(cpu_flags_from_cpuinfo("").empty());
}

TEST_CASE("cpu bf16: avx512_bf16 or amx_bf16 is enough, else both are named missing",
          "[unit][train][bf16]") {
  CHECK(missing_bf16_flags(cpu_flags_from_cpuinfo(kCpuinfo)).empty());
  CHECK(missing_bf16_flags("avx2 avx512f avx512_bf16").empty());
  CHECK(missing_bf16_flags("avx2 amx_tile amx_bf16").empty());
  CHECK(missing_bf16_flags(kAvx2) == std::vector<std::string>{"avx512_bf16", "amx_bf16"});
  CHECK(missing_bf16_flags(kAvx512) == std::vector<std::string>{"avx512_bf16", "amx_bf16"});
  // Whole words only: avx512_bf16x is not avx512_bf16.
  CHECK(missing_bf16_flags("avx512_bf16x amx_bf16_foo").size() == 2);
}

TEST_CASE("cpu bf16: the warning names the missing flags and says bf16 is slower",
          "[unit][train][bf16]") {
  CHECK(bf16_speed_warning(cpu_flags_from_cpuinfo(kCpuinfo)).empty());
  CHECK(bf16_speed_warning("avx512_bf16").empty());
  for (const char* flags : {kAvx2, kAvx512}) {
    const std::string w = bf16_speed_warning(flags);
    INFO(w);
    CHECK(w.find("avx512_bf16") != std::string::npos);
    CHECK(w.find("amx_bf16") != std::string::npos);
    CHECK(w.find("slower than float32") != std::string::npos);
    CHECK(w.find("bf16 on the CPU") != std::string::npos);  // the docs section
  }
  CHECK(bf16_speed_warning(kAvx512).find("emulates") != std::string::npos);
  CHECK(bf16_speed_warning(kAvx2).find("generic") != std::string::npos);
  CHECK(bf16_speed_warning("").find("could not read") != std::string::npos);
}

TEST_CASE("cpu bf16: this machine's flags are its /proc/cpuinfo flags", "[unit][train][bf16]") {
  if (std::getenv("TRELLIS_CPU_FLAGS")) testing::skip_test("TRELLIS_CPU_FLAGS is set");
  const std::string flags = this_cpu_flags();
#ifdef __linux__
  CHECK_FALSE(flags.empty());
#else
  CHECK(flags.empty());
#endif
}

TEST_CASE("train --bf16 warns once on a CPU without bf16 instructions, not on one with them",
          "[integration][train][bf16]") {
  const std::string data = testing::train_corpus();
  if (data.empty()) testing::skip_test("espeak-ng or sox not installed");
  auto train = [&](const std::string& flags, const std::string& dir) {
    return testing::run_command(
        "TRELLIS_CPU_FLAGS='" + flags + "' " + testing::bin("train") + " " + data +
        " --task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam"
        " --lr 1e-3 --max-tokens 1000 --log-format simple --valid-subset dev --bf16"
        " --max-update 1 --no-save --encoder-layers 1 --encoder-embed-dim 32"
        " --encoder-ffn-embed-dim 64 --encoder-attention-heads 2 --conv-channels 32 --threads 1"
        " --save-dir " + testing::fresh_dir(dir));
  };
  auto slow = train(kAvx2, "train_bf16_avx2");
  INFO(slow.output);
  REQUIRE(slow.exit_code == 0);
  CHECK(count(slow.output, "no bfloat16 instructions") == 1);
  CHECK(count(slow.output, "avx512_bf16 nor amx_bf16") == 1);
  auto fast = train(kAvx512 + std::string(" avx512_bf16"), "train_bf16_avx512bf16");
  INFO(fast.output);
  REQUIRE(fast.exit_code == 0);
  CHECK(count(fast.output, "bfloat16 instructions") == 0);
}
