#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same global batch (2 x --max-tokens per update)
# trained by 1 process with --update-freq 2 (1 and 2 threads) and by 2 Gloo processes with
# --update-freq 1 (1 thread each), on an espeak-ng corpus, the gradient sum overlapped with the
# backward pass (--ddp-backend c10d, the default) and after it (legacy_ddp). Prints updates per
# second (median of the train_inner windows after the first) and, for 2 processes, rank 0's
# `comm` and `wait` fields: the shares of the step time spent on the gradient sums the backward
# did not hide, and waiting for the slower rank to finish its batches (docs/training.md). This
# model's gradients are 9 MiB: with the default --bucket-cap-mb 25 they make a 1 MiB first
# bucket and one of 8 MiB that can only start when the backward ends; the row with
# --bucket-cap-mb 1 shows the overlap with 1 MiB buckets (docs/distributed.md). The row with
# --sync-buckets trains each update on two length-neighbour batches, so the faster rank waits
# less for the slower one (docs/distributed.md, "Rank-balanced batches").
#
#   bench/run_distributed.sh                  # 160 utterances, 60 updates per configuration
#   UTTS=80 UPDATES=30 bench/run_distributed.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRAIN_BIN:-$root/build/bin/train}
utts=${UTTS:-160}
updates=${UPDATES:-60}
work=$(mktemp -d /tmp/trellis_dist_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

bash "$root/scripts/make_corpus.sh" "$work/corpus" "$utts" 3 > /dev/null
"$root/build/bin/prepare" --input-format dir --input "$work/corpus" --output-dir "$work/data" \
  --splits train:0.9,dev:0.1 --vocab-type char --no-progress > /dev/null 2>&1

model=(--task speech_to_text_ctc --arch conformer_ctc --criterion ctc --optimizer adam --lr 1e-3
  --max-tokens 8000 --encoder-layers 4 --encoder-embed-dim 144 --encoder-attention-heads 4
  --encoder-ffn-embed-dim 576 --conv-channels 256 --conformer-conv-kernel-size 15
  --log-format simple --log-interval 10 --max-update "$updates" --disable-validation --no-save)

# median of the values of `key=` on train_inner lines, skipping the first window (warm-up).
median() {
  grep -o "train_inner .* $2=[0-9.]*" "$1" | sed -E "s/.* $2=//" | tail -n +2 | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)] }'
}

source "$root/bench/cpu_flags.sh"
echo "== $cpu_line"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $updates updates each"
printf '%-34s %8s %8s %8s\n' "configuration" "ups" "comm %" "wait %"
run() {
  local name=$1
  shift
  "$bin" "$work/data" "${model[@]}" "$@" > "$work/$name.log" 2>&1
  printf '%-34s %8s %8s %8s\n' "$name" "$(median "$work/$name.log" ups)" \
    "$(median "$work/$name.log" comm)" "$(median "$work/$name.log" wait)"
}
run "1 process, 1 thread, uf 2" --threads 1 --update-freq 2
run "1 process, 2 threads, uf 2" --threads 2 --update-freq 2
run "2 processes x 1 thread, uf 1" --distributed-world-size 2 --update-freq 1
run "2 x 1, uf 1, --bucket-cap-mb 1" --distributed-world-size 2 --update-freq 1 --bucket-cap-mb 1
run "2 x 1, uf 1, legacy_ddp" --distributed-world-size 2 --update-freq 1 --ddp-backend legacy_ddp
run "2 x 1, uf 1, --sync-buckets" --distributed-world-size 2 --update-freq 1 --sync-buckets
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
