#!/usr/bin/env bash
# Where one wav2vec2 fine-tuning update's time goes, by category, torchaudio and trellis side by
# side (issue 18; bench/run_profile.sh does the same for the conformer): runs
# bench/ref_wav2vec2.py --profile (torch's autograd profiler, with FLOPs) and
# build/bin/bench_wav2vec2 --profile (LibTorch's legacy profiler) on the same shapes, with the
# scopes trellis::forward (model + CTC loss), trellis::backward and the optimizer step, then
# prints bench/profile_train_step.py's table (self time per update of matmuls, convolutions,
# softmax, norms, activations, copies, ..., forward and backward apart; optimizer step) and the
# matmuls' GFLOP/s, with the machine's matmul peak measured in the same run. Inference is not
# run, and the profiler adds overhead: use bench/run_wav2vec2.sh for timings.
#   bench/run_wav2vec2_profile.sh                     # base size, 4 x 10 s, 2 threads, 2 updates after 1 warm-up
#   ARGS="--seconds 4" STEPS=1 THREADS=1 bench/run_wav2vec2_profile.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
steps=${STEPS:-2}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
args=(--threads "$threads" --steps "$steps" --warmup "${WARMUP:-1}" ${ARGS:-})
source "$root/bench/bench_env.sh"
export TRELLIS_NO_BLAS_REEXEC=1
echo "== $bench_line, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
"${pin[@]}" "${BENCH_TRAIN_STEP:-$root/build/bin/bench_train_step}" --peak 1 --steps 0 --warmup-steps 0 | grep '^peak'
echo "== reference: bench/ref_wav2vec2.py ${args[*]} --profile (load $(cut -d' ' -f1-3 /proc/loadavg))"
ref=$("${pin[@]}" /usr/bin/python3 "$root/bench/ref_wav2vec2.py" "${args[@]}" --profile "$out/ref.json")
echo "$ref"
echo "== trellis: build/bin/bench_wav2vec2 ${args[*]} --profile (load $(cut -d' ' -f1-3 /proc/loadavg))"
ours=$("${pin[@]}" "${BENCH_WAV2VEC2:-$root/build/bin/bench_wav2vec2}" "${args[@]}" --profile "$out/trellis.json")
echo "$ours"
num() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" <<< "$2" | tail -1; }
awk -v r="$(num step "$ref")" -v t="$(num step "$ours")" 'BEGIN {
  printf "ratio under the profiler (torchaudio / trellis): fine-tuning step %.2fx\n", r / t }'
# one trellis::forward scope per update on both sides (the conformer reference opens two): --steps
/usr/bin/python3 "$root/bench/profile_train_step.py" table "$out/ref.json" "$out/trellis.json" --steps "$steps"
echo "== traces in $out; per operator: /usr/bin/python3 bench/profile_nest.py $out/ref.json $out/trellis.json;"\
     "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
