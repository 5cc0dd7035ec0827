#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer runs of the tests (docs/reliability.md,
# "Sanitizers").
#
#   scripts/sanitize.sh [--subset] [-- TEST_ARGS...]
#
#   (default)  the whole library, the mains and trellis_tests built with
#              -fsanitize=address,undefined into build-asan/, then trellis_tests "[unit]".
#              Not run on the 2-core machine: estimated at over an hour to build there (every
#              LibTorch-heavy file compiled again; the subset's 22 files took 5.5 minutes).
#   --subset   the readers of outside bytes (core/io, the manifest / audio / config readers,
#              .nemo) and their tests (tests/core/io, manifest and data config tests, the fuzz
#              regression and seed replays) as one sanitized binary, build-asan-subset/
#              trellis_tests_subset (bench/fuzz/CMakeLists.txt with TRELLIS_FUZZ=OFF), then all
#              of its tests: a few minutes.
# TEST_ARGS replace the default test selection ("[unit]" / every test of the subset).
#
# Environment: CXX (default: the system compiler; g++ and clang++ both work), JOBS (default 2),
# TRELLIS_BUILD_LOCK (a file to flock around the build on shared machines), ASAN_OPTIONS /
# UBSAN_OPTIONS (defaults below: any report fails the run).
# LibTorch, libsndfile and the other Debian libraries are not instrumented: reports inside them
# show up only where trellis hands them bad memory.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=full
if [ "${1:-}" = "--subset" ]; then
  mode=subset
  shift
fi
[ "${1:-}" = "--" ] && shift
JOBS="${JOBS:-2}"
lock=()
[ -n "${TRELLIS_BUILD_LOCK:-}" ] && lock=(flock "$TRELLIS_BUILD_LOCK")
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# Leaks are checked in the subset only: in the whole suite LibTorch's static state at exit is
# reported as leaked.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=$([ "$mode" = subset ] && echo 1 || echo 0):abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "$mode" = subset ]; then
  dir=build-asan-subset
  cmake -S bench/fuzz -B "$dir" -DTRELLIS_FUZZ=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  time "${lock[@]}" cmake --build "$dir" -j"$JOBS" --target trellis_tests_subset
  set -x
  "$dir/trellis_tests_subset" "$@"
else
  dir=build-asan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRELLIS_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$san -g -O1" -DCMAKE_EXE_LINKER_FLAGS="$san" \
    -DCMAKE_SHARED_LINKER_FLAGS="$san" -DCMAKE_MODULE_LINKER_FLAGS="$san" > /dev/null
  time "${lock[@]}" cmake --build "$dir" -j"$JOBS"
  [ $# -eq 0 ] && set -- "[unit]"
  set -x
  "$dir/bin/trellis_tests" "$@"
fi
