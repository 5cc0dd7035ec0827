// One libFuzzer target: compiled once per reader with -DTRELLIS_FUZZ_TARGET="name" (a name from
// trellis::fuzz::targets(), bench/fuzz/fuzz_entry_points.h) by bench/fuzz/CMakeLists.txt.
#include "bench/fuzz/fuzz_entry_points.h"

#ifndef TRELLIS_FUZZ_TARGET
#error "compile with -DTRELLIS_FUZZ_TARGET=\"<target name>\""
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return trellis::fuzz::run(TRELLIS_FUZZ_TARGET, data, size);
}
