#!/usr/bin/env bash
# Side-by-side training-step benchmark: the Python reference (../shared/bench/ref_train_step.py,
# torchaudio Conformer + CTC + Adam, run as is) then build/bin/bench_train_step (trellis's upstream
# conformer_ctc through Trainer::train_step), same sizes, same batches, same BLAS and thread
# pinning, one after the other. Prints the CPU and its flags (avx2, avx512f, avx512_bf16,
# amx_bf16, amx_tile) first, both reports, the parameter counts of both models and the ratio
# reference ms / trellis ms (> 1: trellis is faster).
#
#   bench/run_train_step.sh                  # 2 threads, the 40 peer batches, no warm-up
#   THREADS=1 bench/run_train_step.sh
#   QUICK=1 bench/run_train_step.sh          # 8 updates after 2 warm-up updates
#   STEPS=20 WARMUP=1 LENGTHS_TSV=... EXTRA="--layers 12" bench/run_train_step.sh
#   bench/run_train_step.sh --bf16           # or BF16=1: trellis under CPU bf16 autocast (train
#                                            # --bf16) against the reference's fp32 update
#   PRESET=nest bench/run_train_step.sh      # the NEST / Fast Conformer pretraining update
#                                            # (bench/run_nest.sh; ARGS, REF_ARGS, ROUNDS go there)
#   PRESET=wav2vec2 bench/run_train_step.sh  # the wav2vec2 base fine-tuning update and inference
#                                            # (bench/run_wav2vec2.sh; ARGS goes there)
#   PRESET=all bench/run_train_step.sh       # conformer, nest, wav2vec2 one after the other
#                                            # (NEST_ARGS, WAV2VEC2_ARGS: the ARGS of each)
# --bf16 turns on the trellis side only: the reference always runs in fp32, and the ratio is then
# labelled "trellis bf16 vs reference fp32". QUICK=1 with PRESET=nest/wav2vec2: 2 updates after 1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bf16=${BF16:-0}
for arg in "$@"; do
  case $arg in
    --bf16) bf16=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_train_step.sh: unknown argument $arg (flags: --bf16; the rest via environment variables, --help)" >&2; exit 2 ;;
  esac
done
[[ $bf16 == 0 || $bf16 == 1 ]] || { echo "run_train_step.sh: BF16=$bf16, expected 0 or 1" >&2; exit 2; }
source "$root/bench/cpu_flags.sh"
preset=${PRESET:-conformer}
case $preset in
  conformer) ;;
  nest)  # bench_nest/ref_nest.py flags: --steps, --warmup-steps
    [[ -n "${QUICK:-}" ]] && export ARGS="--steps 2 --warmup-steps 1 ${ARGS:-}"
    BF16=$bf16 exec "$root/bench/run_nest.sh" ;;
  wav2vec2)  # bench_wav2vec2/ref_wav2vec2.py flags: --steps, --warmup
    [[ -n "${QUICK:-}" ]] && export ARGS="--steps 2 --warmup 1 ${ARGS:-}"
    BF16=$bf16 exec "$root/bench/run_wav2vec2.sh" ;;
  all)
    echo "== $cpu_line; PRESET=all: conformer, nest, wav2vec2, $( ((bf16)) && echo "trellis bf16" || echo fp32)"
    for p in conformer nest wav2vec2; do  # each its own flags: ARGS=NEST_ARGS / WAV2VEC2_ARGS
      echo "==== PRESET=$p"
      case $p in nest) a=${NEST_ARGS:-} ;; wav2vec2) a=${WAV2VEC2_ARGS:-} ;; *) a= ;; esac
      PRESET=$p BF16=$bf16 ARGS="$a" "$0"
    done
    exit 0 ;;
  *) echo "run_train_step.sh: PRESET=$preset, expected conformer, nest, wav2vec2 or all" >&2; exit 2 ;;
esac
refdir=${REF_DIR:-$root/../shared/bench}
ref=$refdir/ref_train_step.py
bin=${BENCH_TRAIN_STEP:-$root/build/bin/bench_train_step}
threads=${THREADS:-2}
if [[ -n "${QUICK:-}" ]]; then steps=${STEPS:-8} warmup=${WARMUP:-2}; else steps=${STEPS:-40} warmup=${WARMUP:-0}; fi
tsv=${LENGTHS_TSV:-$refdir/peer_epoch_nframes.tsv}
# Same flags for both sides (EXTRA: more of the shared flags, e.g. "--layers 12 --dim 512").
args=(--lengths-tsv "$tsv" --threads "$threads" --steps "$steps" --warmup-steps "$warmup" ${EXTRA:-})
ours_args=("${args[@]}")
[[ $bf16 == 1 ]] && ours_args+=(--bf16 1)  # trellis only: the reference stays fp32

# Same BLAS and thread pinning for both sides (../shared/bench/README.md). SkylakeX kernels need
# AVX-512; on a CPU without it OpenBLAS would die with SIGILL, so fall back to Haswell (AVX2).
source "$root/bench/bench_env.sh"
echo "== $bench_line, $(date -u +%F)"
if [[ $bf16 == 1 ]]; then
  echo "== precision: trellis bf16 (bench_train_step --bf16 1: CPU autocast to bfloat16, as train --bf16;"
  echo "   fp32 master weights and Adam state), reference fp32 (ref_train_step.py as is)"
  [[ -z $bf16_note ]] || echo "== note: $bf16_note"
else
  echo "== precision: fp32 on both sides"
fi

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
run_side ours "${pin[@]}" "$bin" "${ours_args[@]}"
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
label="fp32"
[[ $bf16 == 1 ]] && label="trellis bf16 vs reference fp32"
awk -v r="$r" -v o="$o" -v rf="$(fps "$ref_out")" -v of="$(fps "$ours_out")" -v t="$threads" -v l="$label" 'BEGIN {
  printf "== ratio (%d thread(s), %s): reference %.0f ms / trellis %.0f ms per update = %.2fx", t, l, r, o, r / o
  printf " (%s); input frames/s %.0f vs %.0f\n", (r >= o ? "trellis faster" : "trellis SLOWER"), of, rf }'
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
