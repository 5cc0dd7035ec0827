#!/usr/bin/env bash
# Side-by-side NEST pretraining-step benchmark: bench/ref_nest.py (the update in plain torch 1.13,
# /usr/bin/python3, the Debian LibTorch trellis links) then build/bin/bench_nest (trellis's update
# through Trainer::train_step), same flags, same BLAS and thread pinning, one after the other.
# Prints the CPU, its vector flags, the fp32 matmul rate of this BLAS, both reports and the ratio
# reference ms / trellis ms (> 1: trellis is faster).
#   bench/run_nest.sh                               # small preset, 4 x 8 s, 5 updates after 1
#   THREADS=1 ARGS="--layers 4 --batch 2 --seconds 4" bench/run_nest.sh
#   ROUNDS=3 bench/run_nest.sh                      # alternate the sides 3 times (a busy machine)
#   REF_ARGS="--quantizer-search matmul" bench/run_nest.sh   # the reference with trellis's l2 search
#   BF16=1 bench/run_nest.sh                        # trellis under CPU bf16 autocast (train --bf16),
#                                                   # the reference in fp32 as always
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
args=(--threads "$threads" ${ARGS:-})
ref_args=(${REF_ARGS:-})  # reference-only flags, e.g. REF_ARGS="--quantizer-search matmul"
bf16=${BF16:-0}
ours_args=()  # trellis-only flags
[[ $bf16 == 1 ]] && ours_args+=(--bf16 1)
source "$root/bench/bench_env.sh"
export TRELLIS_NO_BLAS_REEXEC=1
echo "== $bench_line, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
if [[ $bf16 == 1 ]]; then
  echo "== precision: trellis bf16 (bench_nest --bf16 1: CPU autocast to bfloat16, as train --bf16;"
  echo "   fp32 master weights and AdamW state), reference fp32 (bench/ref_nest.py)"
  [[ -z $bf16_note ]] || echo "== note: $bf16_note"
else
  echo "== precision: fp32 on both sides"
fi
# The fp32 matmul rate these threads reach (2048^3 sgemm, best of 5): the ceiling both sides share.
"${pin[@]}" /usr/bin/python3 - "$threads" <<'EOF'
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
a @ b
best = min((lambda t0: (a @ b, time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
print(f"== fp32 matmul peak: {2 * 2048 ** 3 / best / 1e9:.0f} GFLOP/s (2048^3, best of 5)")
EOF
# ROUNDS > 1 alternates the sides (ref, trellis, ref, ...) so that load changes hit both. Two
# ratios: of the medians over rounds of each side's median ms/update, and of each side's fastest
# update over all rounds (on a shared, busy machine the fastest update is the least disturbed one).
ms() { sed -nE 's/^RESULT: ([0-9.]+) ms\/update.*/\1/p' <<<"$1"; }
mn() { sed -nE 's/^RESULT: .*\(min ([0-9.]+),.*/\1/p' <<<"$1"; }
cpu() { sed -nE 's/^RESULT: .*\| CPU ([0-9.]+) ms.*/\1/p' <<<"$1"; }
refs=() ours_ms=() ref_min=() ours_min=() ref_cpu=() ours_cpu=()
for ((round = 1; round <= ${ROUNDS:-1}; ++round)); do
  echo "== round $round, reference: bench/ref_nest.py ${args[*]} ${ref_args[*]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
  ref=$("${pin[@]}" /usr/bin/python3 "$root/bench/ref_nest.py" "${args[@]}" ${ref_args[@]+"${ref_args[@]}"})
  echo "$ref"
  echo "== round $round, trellis: build/bin/bench_nest ${args[*]} ${ours_args[*]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
  ours=$("${pin[@]}" "${BENCH_NEST:-$root/build/bin/bench_nest}" "${args[@]}" ${ours_args[@]+"${ours_args[@]}"})
  echo "$ours"
  refs+=("$(ms "$ref")") ours_ms+=("$(ms "$ours")") ref_min+=("$(mn "$ref")") ours_min+=("$(mn "$ours")")
  ref_cpu+=("$(cpu "$ref")") ours_cpu+=("$(cpu "$ours")")
  echo "== round $round: reference ${refs[-1]} ms, trellis ${ours_ms[-1]} ms per update"
done
med() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
label="fp32"
[[ $bf16 == 1 ]] && label="trellis bf16 vs reference fp32"
awk -v r="$(med "${refs[@]}")" -v o="$(med "${ours_ms[@]}")" -v t="$threads" -v n="${ROUNDS:-1}" -v l="$label" 'BEGIN {
  printf "== ratio (%d thread(s), %d round(s), %s): reference %.0f ms / trellis %.0f ms per update = %.2fx (%s)\n",
    t, n, l, r, o, r / o, (r >= o ? "trellis faster" : "trellis SLOWER") }'
awk -v r="$(printf '%s\n' "${ref_min[@]}" | sort -g | head -1)" -v o="$(printf '%s\n' "${ours_min[@]}" | sort -g | head -1)" -v l="$label" 'BEGIN {
  printf "== ratio of the fastest updates (%s): reference %.0f ms / trellis %.0f ms = %.2fx\n", l, r, o, r / o }'
awk -v r="$(med "${ref_cpu[@]}")" -v o="$(med "${ours_cpu[@]}")" -v l="$label" 'BEGIN {
  printf "== ratio of CPU time per update (medians, all threads; %s): reference %.0f ms / trellis %.0f ms = %.2fx\n", l, r, o, r / o }'
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
