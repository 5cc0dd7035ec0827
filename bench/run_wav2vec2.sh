#!/usr/bin/env bash
# Side-by-side wav2vec2 benchmark: bench/ref_wav2vec2.py (torchaudio 0.13 wav2vec2_model, the
# same Debian LibTorch kernels) then build/bin/bench_wav2vec2 (trellis's wav2vec2_ctc), same
# sizes, same BLAS and thread pinning, one after the other; prints both and the ratios
# reference ms / trellis ms (> 1: trellis is faster).
#   bench/run_wav2vec2.sh                        # base size, 4 x 10 s, 2 threads
#   ARGS="--layers 2 --batch 2 --seconds 4" THREADS=1 bench/run_wav2vec2.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
args=(--threads "$threads" ${ARGS:-})
coretype=Haswell
grep -qw avx512f /proc/cpuinfo && coretype=SkylakeX
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$coretype} OMP_NUM_THREADS=$threads
export OPENBLAS_NUM_THREADS=$threads TRELLIS_NO_BLAS_REEXEC=1
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "0-$((threads - 1))"); fi
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE, $threads thread(s), load $(cut -d' ' -f1 /proc/loadavg)"
ref=$("${pin[@]}" /usr/bin/python3 "$root/bench/ref_wav2vec2.py" "${args[@]}")
echo "$ref"
ours=$("${pin[@]}" "${BENCH_WAV2VEC2:-$root/build/bin/bench_wav2vec2}" "${args[@]}")
echo "$ours"
num() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" <<< "$2" | tail -1; }
awk -v ri="$(num inference "$ref")" -v ti="$(num inference "$ours")" \
    -v rt="$(num step "$ref")" -v tt="$(num step "$ours")" 'BEGIN {
  printf "ratio (torchaudio / trellis): inference %.2fx, fine-tuning step %.2fx\n", ri / ti, rt / tt }'
