#!/usr/bin/env bash
# Issue 18's timing acceptance in one command: bench/run_train_step.sh in fp32 and with --bf16,
# alternated (fp32, bf16, fp32, bf16, ...) ROUNDS times, each run timing the Python reference in
# fp32 first; then every run's ratio and the median of each mode. bf16 runs only where the CPU has
# avx512_bf16 or amx_bf16 (elsewhere trellis's bf16 is slower than fp32 and not a target; BF16=1
# runs it anyway, BF16=0 never). Each run's full report is kept under OUT.
#   bench/run_alternating.sh                  # 3 rounds, 2 threads, the 40 peer batches
#   ROUNDS=5 OUT=/tmp/acc bench/run_alternating.sh
# Other variables (THREADS, QUICK, STEPS, EXTRA, ...) pass through to run_train_step.sh. Hold the
# machine for the whole run (e.g. flock -x /tmp/trellis.cpu.lock bench/run_alternating.sh): the
# CPU lines of each report must show no other load.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-3}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
source "$root/bench/cpu_flags.sh"
case ${BF16:-auto} in
  auto) if [[ -z $bf16_note ]]; then modes=(fp32 bf16); else modes=(fp32); fi ;;
  1) modes=(fp32 bf16) ;;
  0) modes=(fp32) ;;
  *) echo "run_alternating.sh: BF16=$BF16, expected auto, 0 or 1" >&2; exit 2 ;;
esac
echo "== $cpu_line; $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); $(date -u '+%F %H:%M') UTC"
echo "== $rounds round(s) of: ${modes[*]}; reports in $out"
[[ " ${modes[*]} " == *" bf16 "* || -z $bf16_note ]] || echo "== bf16 skipped: $bf16_note"
declare -A ratios
for ((i = 1; i <= rounds; i++)); do
  for mode in "${modes[@]}"; do
    log=$out/round${i}_$mode.txt
    flags=()
    [[ $mode == bf16 ]] && flags=(--bf16)
    BF16=0 "$root/bench/run_train_step.sh" "${flags[@]}" > "$log" 2>&1 ||
      { echo "run_alternating.sh: round $i $mode failed, see $log" >&2; tail -5 "$log" >&2; exit 1; }
    line=$(grep '^== ratio' "$log")
    ratio=$(sed -nE 's/.* = ([0-9.]+)x .*/\1/p' <<<"$line")
    ratios[$mode]+="$ratio "
    echo "round $i $mode: ${line#== ratio }"
    grep -E '^ +CPU during the run' "$log" | sed 's/^ */    /'
  done
done
for mode in "${modes[@]}"; do
  # shellcheck disable=SC2086
  median=$(printf '%s\n' ${ratios[$mode]} | sort -g | awk '{ v[NR] = $1 } END {
    print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  echo "== $mode: ratios ${ratios[$mode]}-> median ${median}x (reference fp32 ms / trellis $mode ms)"
done
