#!/usr/bin/env bash
# bf16 against fp32 on the quickstart recipe (issue 18): scripts/quickstart.sh's model and flags
# on an espeak-ng corpus of UTTS utterances (80/10/10 train/dev/test), trained from the same
# seed with --bf16 and in fp32 side by side, 1 thread each on its own core. The bf16 run gets
# MINUTES of training (then SIGINT: it saves and stops); fp32 runs on until it has validated the
# same update. Prints dev and test WER of both at every validation, and the means of the last 10.
#   bench/run_bf16_quality.sh                 # UTTS=600 MINUTES=20 (about 30 minutes in all)
#   UTTS=300 MINUTES=5 bench/run_bf16_quality.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/build/bin
utts=${UTTS:-600}
minutes=${MINUTES:-20}
work=${OUT:-$(mktemp -d /tmp/trellis_bf16_quality.XXXXXX)}
mkdir -p "$work"
threads=1
source "$root/bench/bench_env.sh"
echo "== $bench_line, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %T') UTC; work dir $work"
[[ -z $bf16_note ]] || echo "== note: $bf16_note"
bash "$root/scripts/make_corpus.sh" "$work/corpus" "$utts" 1 > /dev/null 2>&1
"$bin/prepare" --input-format dir --input "$work/corpus" --output-dir "$work/data" \
  --splits train:0.8,dev:0.1,test:0.1 --vocab-type char --features fbank80 --cmvn utterance \
  --num-workers 2 > "$work/prepare.log" 2>&1 || { echo "prepare failed: $work/prepare.log" >&2; exit 1; }
flags=(--task speech_to_text_ctc --arch conformer_ctc --criterion ctc
  --optimizer adam --lr 2e-3 --adam-betas '(0.9, 0.98)' --lr-scheduler inverse_sqrt
  --warmup-updates 150 --clip-norm 10 --max-tokens 8000 --max-update 1000000
  --encoder-layers 4 --encoder-embed-dim 144 --encoder-attention-heads 4
  --encoder-ffn-embed-dim 576 --conv-channels 256 --conformer-conv-kernel-size 15
  --dropout 0.1 --valid-subset dev,test --best-checkpoint-metric wer --validate-interval 5
  --no-epoch-checkpoints --log-interval 50 --threads 1 --seed 1)
cpu1=0
[[ $(nproc) -gt 1 ]] && cpu1=1
start=$(date +%s)
taskset -c 0 timeout -s INT "$((minutes * 60))" "$bin/train" "$work/data" "${flags[@]}" --bf16 \
  --save-dir "$work/bf16" --log-file "$work/bf16.log" > "$work/bf16.out" 2>&1 &
bf=$!
taskset -c "$cpu1" "$bin/train" "$work/data" "${flags[@]}" --save-dir "$work/fp32" \
  --log-file "$work/fp32.log" > "$work/fp32.out" 2>&1 &
fp=$!
# the update numbers of a log's dev validations
validated() { grep -o "valid on 'dev'.*num_updates [0-9]*" "$1" | grep -o '[0-9]*$'; }
wait $bf
last=$(validated "$work/bf16.log" | tail -1)
echo "== bf16: stopped after $(( ($(date +%s) - start) / 60 )) minutes, last validated update ${last:-none}"
[[ -n $last ]] || { kill -INT $fp; wait $fp; echo "no validation in $minutes minutes" >&2; exit 1; }
while kill -0 $fp 2>/dev/null; do
  n=$(validated "$work/fp32.log" | tail -1)
  [[ -n $n && $n -ge $last ]] && { kill -INT $fp; break; }
  sleep 10
done
wait $fp
echo "== fp32: reached update $last after $(( ($(date +%s) - start) / 60 )) minutes"
# "update subset wer" per validation line
wers() { grep "valid on '" "$1" | sed -E "s/.*valid on '([a-z]+)'.*\| wer ([0-9.]+) .*num_updates ([0-9]+).*/\3 \1 \2/"; }
join -j1 <(wers "$work/fp32.log" | awk '{ print $1 "_" $2, $3 }' | sort) \
          <(wers "$work/bf16.log" | awk '{ print $1 "_" $2, $3 }' | sort) |
  tr '_' ' ' | awk -v last="$last" '$1 <= last' | sort -n -k1,1 -k2,2 |
  awk 'BEGIN { printf "%8s %6s %8s %8s\n", "update", "subset", "fp32", "bf16" }
       { printf "%8d %6s %8.2f %8.2f\n", $1, $2, $3, $4; u[NR] = $1; s[NR] = $2; f[NR] = $3; b[NR] = $4 }
       END { for (i = 1; i <= NR; i++) if (!(u[i] in seen)) { seen[u[i]] = 1; order[++k] = u[i] }
             from = order[k > 10 ? k - 9 : 1]
             for (i = 1; i <= NR; i++) if (u[i] >= from) { F[s[i]] += f[i]; B[s[i]] += b[i]; N[s[i]]++; FA += f[i]; BA += b[i]; NA++ }
             for (x in N) printf "mean of the last %d validations (updates %d-%d), %s: fp32 %.2f, bf16 %.2f\n", N[x], from, order[k], x, F[x] / N[x], B[x] / N[x]
             printf "all subsets together: fp32 %.2f, bf16 %.2f\n", FA / NA, BA / NA }'
