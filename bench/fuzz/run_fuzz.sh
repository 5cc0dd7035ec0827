#!/usr/bin/env bash
# Builds trellis's libFuzzer targets (bench/fuzz/fuzz_entry_points.h) with clang and
# -fsanitize=fuzzer,address,undefined into build-fuzz/, and runs each for SECONDS.
# Not part of CI. Results: docs/reliability.md, "Fuzzing".
#
#   bench/fuzz/run_fuzz.sh [SECONDS=60] [TARGET ...]     (default: every target)
#
# Needs Debian's clang with libFuzzer (the clang package pulls in libclang-rt-*-dev):
#   sudo apt-get install clang
# Each target starts from its committed seeds (bench/fuzz/corpus/<target>/) plus what earlier
# runs found (build-fuzz/corpus/<target>/); crashes, leaks, timeouts and sanitizer reports go to
# build-fuzz/artifacts/<target>/. A crash, once fixed, becomes a regression file: copy it to
# tests/data/fuzz_regressions/<target>/, which the normal test suite replays
# (tests/core/io/test_fuzz_regressions.cpp).
#
# Environment: JOBS (build jobs, default 2), BUILD_DIR (default build-fuzz), TRELLIS_BUILD_LOCK
# (a file to flock around the build on shared machines), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
ALL=(tsv_manifest nemo_json common_voice data_config config_file stored_zip npy safetensors
     torch_pickle audio nemo_tar)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL[@]}")
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
JOBS="${JOBS:-2}"

if ! command -v clang++ > /dev/null; then
  echo "run_fuzz.sh: clang++ not found; install it with: sudo apt-get install clang" >&2
  exit 2
fi
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
  echo "run_fuzz.sh: libFuzzer not found (libclang_rt.fuzzer); sudo apt-get install clang" >&2
  exit 2
fi

lock=()
[ -n "${TRELLIS_BUILD_LOCK:-}" ] && lock=(flock "$TRELLIS_BUILD_LOCK")
CXX=clang++ cmake -S bench/fuzz -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
"${lock[@]}" cmake --build "$BUILD_DIR" -j"$JOBS" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")

# The targets' scratch files (fuzz_entry_points.h): in memory when /dev/shm exists (a disk
# file per input runs 30x slower).
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  export TMPDIR="/dev/shm/trellis_fuzz.$$"
else
  export TMPDIR="$PWD/$BUILD_DIR/tmp"
fi
mkdir -p "$TMPDIR"
trap 'rm -rf "/dev/shm/trellis_fuzz.$$"' EXIT
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
results="$BUILD_DIR/results.tsv"
printf 'target\tseconds\truns\texec_per_s\tcorpus_files\tcorpus_bytes\tcov\tartifacts\tstatus\n' \
  > "$results"
status_all=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD_DIR/corpus/$t" artifacts="$BUILD_DIR/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$BUILD_DIR/fuzz_$t.log"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s"
  status=ok
  # -rss_limit_mb: a reader that allocates what a file merely claims shows up as an OOM.
  if ! "$BUILD_DIR/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$corpus" "bench/fuzz/corpus/$t" \
      > "$log" 2>&1; then
    status=FAILED
    status_all=1
    tail -40 "$log"
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  found=$(find "$artifacts" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$SECONDS_PER_TARGET" "$runs" "$rate" \
    "$files" "$bytes" "$cov" "$found" "$status" >> "$results"
  rm -f "$TMPDIR"/trellis_fuzz_*
done
column -t -s $'\t' "$results"
exit $status_all
