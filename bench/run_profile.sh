#!/usr/bin/env bash
# Where one training update's time goes, by category, reference and trellis side by side: runs
# ../shared/bench/ref_train_step.py under torch's profiler (bench/profile_train_step.py ref) and
# build/bin/bench_train_step --profile on the same batches, then prints the table (self time per
# update of matmuls, convolutions, softmax, dropout RNG, elementwise, copies, ..., forward and
# backward apart; clipping, optimizer step) and the matmuls' GFLOP/s, with the machine's matmul
# peak measured in the same run. Profiling adds overhead: use bench/run_train_step.sh for timings.
#   bench/run_profile.sh                    # 1 thread, 3 updates of the peer batches after 1 warm-up
#   THREADS=2 STEPS=5 bench/run_profile.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
refdir=${REF_DIR:-$root/../shared/bench}
threads=${THREADS:-1}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
args=(--lengths-tsv "${LENGTHS_TSV:-$refdir/peer_epoch_nframes.tsv}" --threads "$threads"
      --steps "${STEPS:-3}" --warmup-steps "${WARMUP:-1}" ${EXTRA:-})
source "$root/bench/bench_env.sh"
export REF_TRAIN_STEP=$refdir/ref_train_step.py
echo "== $bench_line, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
"${pin[@]}" "${BENCH_TRAIN_STEP:-$root/build/bin/bench_train_step}" --peak 1 --steps 0 --warmup-steps 0 | grep '^peak'
"${pin[@]}" /usr/bin/python3 "$root/bench/profile_train_step.py" ref "$out/ref.json" "${args[@]}" | grep '^RESULT'
"${pin[@]}" "${BENCH_TRAIN_STEP:-$root/build/bin/bench_train_step}" "${args[@]}" --profile "$out/trellis.json" | grep '^RESULT'
/usr/bin/python3 "$root/bench/profile_train_step.py" table "$out/ref.json" "$out/trellis.json"
echo "== traces in $out; per operator: /usr/bin/python3 bench/profile_nest.py $out/ref.json $out/trellis.json; load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
