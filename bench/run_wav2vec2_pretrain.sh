#!/usr/bin/env bash
# Side-by-side wav2vec 2.0 pretraining update: bench/ref_wav2vec2_pretrain.py (torchaudio 0.13
# body + fairseq's pretraining heads and loss in torch 1.13, the Debian LibTorch kernels trellis
# links) and build/bin/bench_wav2vec2 --mode pretrain (trellis's wav2vec2_base with the wav2vec
# criterion and Adam), same sizes, same BLAS, same threads pinned to the same cores, alternating
# A B A B (ROUNDS rounds) so that a change of load hits both; prints each run, the machine, the
# load before each run, and the ratio reference ms / trellis ms of the medians over rounds
# (> 1: trellis is faster).
#   bench/run_wav2vec2_pretrain.sh                       # base, 4 x 10 s, 2 threads, 2 rounds
#   THREADS=1 ROUNDS=1 bench/run_wav2vec2_pretrain.sh
#   ARGS="--layers 2 --batch 2 --seconds 4" bench/run_wav2vec2_pretrain.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2} rounds=${ROUNDS:-2}
args=(--threads "$threads" --steps "${STEPS:-3}" --warmup 1 ${ARGS:-})
source "$root/bench/bench_env.sh"
export TRELLIS_NO_BLAS_REEXEC=1
echo "== $bench_line, $(date -u '+%F %T') UTC"
num() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" <<< "$2" | tail -1; }
ref_ms=() ours_ms=()
for r in $(seq 1 "$rounds"); do
  echo "-- round $r: load $(cut -d' ' -f1-3 /proc/loadavg) before torch"
  ref=$("${pin[@]}" /usr/bin/python3 "$root/bench/ref_wav2vec2_pretrain.py" "${args[@]}")
  echo "$ref"
  ref_ms+=("$(num "pretraining step" "$ref")")
  echo "-- round $r: load $(cut -d' ' -f1-3 /proc/loadavg) before trellis"
  ours=$("${pin[@]}" "${BENCH_WAV2VEC2:-$root/build/bin/bench_wav2vec2}" --mode pretrain "${args[@]}")
  echo "$ours"
  ours_ms+=("$(num "pretraining step" "$ours")")
done
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
awk -v r="$(med "${ref_ms[@]}")" -v t="$(med "${ours_ms[@]}")" -v rs="${ref_ms[*]}" -v ts="${ours_ms[*]}" 'BEGIN {
  printf "pretraining step, ms per update: torch %s; trellis %s\n", rs, ts
  printf "ratio (torch / trellis, medians %.0f / %.0f ms): %.2fx\n", r, t, r / t }'
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
