#!/usr/bin/env bash
# Side-by-side training-step benchmark: the Python reference (../shared/bench/ref_train_step.py,
# torchaudio Conformer + CTC + Adam, run as is) then build/bin/bench_train_step (trellis's upstream
# conformer_ctc through Trainer::train_step), same sizes, same batches, same BLAS and thread
# pinning, one after the other. Prints both reports, the parameter counts of both models and the
# ratio reference ms / trellis ms (> 1: trellis is faster).
#
#   bench/run_train_step.sh                  # 2 threads, the 40 peer batches, no warm-up
#   THREADS=1 bench/run_train_step.sh
#   QUICK=1 bench/run_train_step.sh          # 8 updates after 2 warm-up updates
#   STEPS=20 WARMUP=1 LENGTHS_TSV=... EXTRA="--layers 12" bench/run_train_step.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
refdir=${REF_DIR:-$root/../shared/bench}
ref=$refdir/ref_train_step.py
bin=${BENCH_TRAIN_STEP:-$root/build/bin/bench_train_step}
threads=${THREADS:-2}
if [[ -n "${QUICK:-}" ]]; then steps=${STEPS:-8} warmup=${WARMUP:-2}; else steps=${STEPS:-40} warmup=${WARMUP:-0}; fi
tsv=${LENGTHS_TSV:-$refdir/peer_epoch_nframes.tsv}
# Same flags for both sides (EXTRA: more of the shared flags, e.g. "--layers 12 --dim 512").
args=(--lengths-tsv "$tsv" --threads "$threads" --steps "$steps" --warmup-steps "$warmup" ${EXTRA:-})

# Same BLAS and thread pinning for both sides (../shared/bench/README.md). SkylakeX kernels need
# AVX-512; on a CPU without it OpenBLAS would die with SIGILL, so fall back to Haswell (AVX2).
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$coretype} OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "0-$((threads - 1))"); fi
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) ($(nproc --all) cores), OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, $threads thread(s), ${pin[*]:-no pinning}"

# CPU use while a side runs: the machine's busy cores (/proc/stat) and the benchmark's own
# (bash `times` of the child). Busy cores well above the benchmark's own mean other load.
stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6, $9}' /proc/stat; }  # busy idle steal (ticks)
usage() {  # $1, $2: stat before/after; $3: the child's user+sys seconds; $4: wall seconds
  awk -v a="$1" -v b="$2" -v own="$3" -v w="$4" -v n="$(nproc --all)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); t = (y[1] - x[1]) + (y[2] - x[2]) + (y[3] - x[3]);
    printf "CPU during the run: machine %.2f of %d cores busy, this benchmark %.2f, steal %.1f%%",
      (y[1] - x[1]) / t * n, n, own / w, 100 * (y[3] - x[3]) / t }'
}
# run_side NAME CMD...: runs CMD, sets NAME_out (its stdout) and NAME_use (the CPU line).
run_side() {
  local name=$1 s0 t0 out own
  shift
  s0=$(stat) t0=$(date +%s.%N)
  out=$("$@" && times)  # a failing side stops the script (set -e)
  own=$(tail -1 <<<"$out" | awk '{ split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  printf -v "${name}_out" '%s' "$(head -n -2 <<<"$out")"
  printf -v "${name}_use" '%s' "$(usage "$s0" "$(stat)" "$own" "$(awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN{print t1 - t0}')")"
}
echo "== reference: $ref (load $(cut -d' ' -f1-3 /proc/loadavg))"
run_side ref "${pin[@]}" /usr/bin/python3 "$ref" "${args[@]}"
echo "$ref_out"
echo "   $ref_use"
echo "== trellis: $bin (load $(cut -d' ' -f1-3 /proc/loadavg))"
run_side ours "${pin[@]}" "$bin" "${args[@]}"
echo "$ours_out"
echo "   $ours_use"

# Exact parameter count of the reference model (ref_train_step.py prints it in M only): import the
# script's own ConformerCTC with its default flags plus ours.
ref_params=$(cd "$refdir" && /usr/bin/python3 - "${args[@]}" <<'EOF'
import sys, argparse, ref_train_step as r
p = argparse.ArgumentParser()
for k, v in dict(layers=6, dim=256, heads=4, ffn=1024, kernel=31, vocab=500, input_dim=80,
                 conv_channels=1024, conv_kernels="5,5", dropout=0.1).items():
    p.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
a, _ = p.parse_known_args()
print(sum(x.numel() for x in r.ConformerCTC(a).parameters()))
EOF
)
our_params=$(sed -nE 's/.*\| ([0-9]+) params \|.*/\1/p' <<<"$ours_out")
layers=$(sed -nE 's/^model: ([0-9]+)x .*/\1/p' <<<"$ours_out")
dim=$(sed -nE 's/.* D=([0-9]+) .*/\1/p' <<<"$ours_out")
echo "== parameters: reference $ref_params, trellis $our_params (difference $((ref_params - our_params)))"
if [[ "$ref_params" != "$our_params" ]]; then
  echo "   torchaudio's ConformerLayer gives its conv module biases (pointwise 2D + depthwise D +"
  echo "   pointwise D = 4D per layer = $((4 * layers * dim))); fairseq's S2TConformerEncoder, which trellis"
  echo "   mirrors, has none, and no flag adds them."
fi

ms() { sed -nE 's/^RESULT: ([0-9.]+) ms\/update median.*/\1/p' <<<"$1"; }
fps() { sed -nE 's/.*\| ([0-9.]+) input frames\/s median.*/\1/p' <<<"$1"; }
r=$(ms "$ref_out") o=$(ms "$ours_out")
awk -v r="$r" -v o="$o" -v rf="$(fps "$ref_out")" -v of="$(fps "$ours_out")" -v t="$threads" 'BEGIN {
  printf "== ratio (%d thread(s)): reference %.0f ms / trellis %.0f ms per update = %.2fx", t, r, o, r / o
  printf " (%s); input frames/s %.0f vs %.0f\n", (r >= o ? "trellis faster" : "trellis SLOWER"), of, rf }'
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
