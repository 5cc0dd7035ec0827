#!/usr/bin/env bash
# Side-by-side wav2vec2 benchmark: bench/ref_wav2vec2.py (torchaudio 0.13 wav2vec2_model, the
# same Debian LibTorch kernels) then build/bin/bench_wav2vec2 (trellis's wav2vec2_ctc), same
# sizes, same BLAS and thread pinning, one after the other; prints both and the ratios
# reference ms / trellis ms (> 1: trellis is faster).
#   bench/run_wav2vec2.sh                        # base size, 4 x 10 s, 2 threads
#   ARGS="--layers 2 --batch 2 --seconds 4" THREADS=1 bench/run_wav2vec2.sh
#   BF16=1 bench/run_wav2vec2.sh                 # trellis under CPU bf16 autocast (train --bf16),
#                                                # torchaudio in fp32 as always
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
threads=${THREADS:-2}
args=(--threads "$threads" ${ARGS:-})
bf16=${BF16:-0}
ours_args=()  # trellis-only flags
[[ $bf16 == 1 ]] && ours_args+=(--bf16 1)
source "$root/bench/bench_env.sh"
export TRELLIS_NO_BLAS_REEXEC=1
echo "== $bench_line, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
if [[ $bf16 == 1 ]]; then
  echo "== precision: trellis bf16 (bench_wav2vec2 --bf16 1: CPU autocast to bfloat16, as train --bf16;"
  echo "   fp32 master weights and AdamW state), torchaudio fp32 (bench/ref_wav2vec2.py)"
  [[ -z $bf16_note ]] || echo "== note: $bf16_note"
else
  echo "== precision: fp32 on both sides"
fi
echo "== reference: bench/ref_wav2vec2.py ${args[*]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
ref=$("${pin[@]}" /usr/bin/python3 "$root/bench/ref_wav2vec2.py" "${args[@]}")
echo "$ref"
echo "== trellis: build/bin/bench_wav2vec2 ${args[*]} ${ours_args[*]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
ours=$("${pin[@]}" "${BENCH_WAV2VEC2:-$root/build/bin/bench_wav2vec2}" "${args[@]}" ${ours_args[@]+"${ours_args[@]}"})
echo "$ours"
num() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" <<< "$2" | tail -1; }
label="fp32"
[[ $bf16 == 1 ]] && label="trellis bf16 vs reference fp32"
awk -v ri="$(num inference "$ref")" -v ti="$(num inference "$ours")" \
    -v rt="$(num step "$ref")" -v tt="$(num step "$ours")" -v l="$label" 'BEGIN {
  printf "ratio (torchaudio / trellis, %s): inference %.2fx, fine-tuning step %.2fx\n", l, ri / ti, rt / tt }'
echo "== load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
