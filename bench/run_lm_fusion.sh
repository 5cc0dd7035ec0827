#!/usr/bin/env bash
# Issue 19's acceptance, end to end with the real binaries: on the espeak-ng quickstart corpus,
# an LM trained on text of the test sentences' domain (the corpus grammar, other seed) but not
# the test sentences lowers the test WER of the quickstart model versus no LM, for an n-gram
# (IRSTLM's tlm, word-level fusion) and for a transformer LM (train --task language_modeling,
# token-level fusion). Weights are picked on dev, then test is decoded once per setting.
# Also measures CTC prefix beam search with the LMs at beam 10 on 1 thread (real-time factor).
#
# Usage: bench/run_lm_fusion.sh QUICKSTART_DIR [OUT_DIR]
#   QUICKSTART_DIR: what scripts/quickstart.sh wrote (data/, checkpoints/checkpoint_best.pt)
# Env: TRELLIS_BUILD_DIR (default ./build), LM_SENTENCES (20000), LM_UPDATES (600),
#      IRSTLM (irstlm's folder; default /usr/lib/irstlm), BEAM (10).
# tests/integration/test_generate_lm.cpp runs a reduced version.
set -euo pipefail
cd "$(dirname "$0")/.."
qs=${1:?usage: run_lm_fusion.sh QUICKSTART_DIR [OUT_DIR]}
out=${2:-$qs/lm_fusion}
bin=${TRELLIS_BUILD_DIR:-$(pwd)/build}/bin
irst=${IRSTLM:-/usr/lib/irstlm}/bin
n_sent=${LM_SENTENCES:-20000}
lm_updates=${LM_UPDATES:-600}
beam=${BEAM:-10}
ckpt=$qs/checkpoints/checkpoint_best.pt
data=$qs/data
[ -f "$ckpt" ] || { echo "$ckpt missing: run scripts/quickstart.sh first" >&2; exit 1; }
[ -x "$irst/tlm" ] || { echo "$irst/tlm missing: apt-get install irstlm" >&2; exit 1; }
mkdir -p "$out"

tsv_text() { awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "tgt_text") c = i; next }
  { print $c }' "$1"; }

echo "== LM text: $n_sent sentences of the corpus grammar (seed 7), test sentences removed"
tsv_text "$data/test.tsv" | sort -u > "$out/test_sentences.txt"
# The grammar of scripts/make_corpus.sh (same word lists), another seed.
awk -v n="$n_sent" -v seed=7 'BEGIN {
  srand(seed);
  split("the a one every this that", det, " ");
  split("red green small big old new quiet loud happy tired bright dark", adj, " ");
  split("cat dog bird fish horse child teacher farmer doctor singer river garden house tree car boat", noun, " ");
  split("sees likes finds helps follows watches calls paints carries visits", verb, " ");
  split("today slowly quickly again at night in the morning near the river", adv, ",");
  for (i = 1; i <= n; i++) {
    s = det[int(rand()*6)+1] " " adj[int(rand()*12)+1] " " noun[int(rand()*16)+1] " " \
        verb[int(rand()*10)+1] " " det[int(rand()*6)+1] " " noun[int(rand()*16)+1];
    if (rand() < 0.5) s = s " " adv[int(rand()*6)+1];
    print s;
  }
}' | grep -vxFf "$out/test_sentences.txt" > "$out/lm_text.txt"
echo "   $(wc -l < "$out/lm_text.txt") sentences kept ($(sort -u "$out/lm_text.txt" | grep -cxFf "$out/test_sentences.txt" || true) test sentences among them)"

echo "== n-gram: IRSTLM tlm, 3-gram, Witten-Bell"
sed 's/^/<s> /; s/$/ <\/s>/' "$out/lm_text.txt" > "$out/lm_text.irstlm"
(cd "$out" && "$irst/tlm" -tr=lm_text.irstlm -n=3 -lm=wb -o=words3.arpa > tlm.log 2>&1)

echo "== transformer LM: train --task language_modeling on the same text ($lm_updates updates)"
lmdata=$out/lm_data
mkdir -p "$lmdata"
cp "$data/config.yaml" "$data/dict.txt" "$lmdata/"
cp "$out/lm_text.txt" "$lmdata/lm_train.txt"
tsv_text "$data/dev.tsv" > "$lmdata/lm_valid.txt"
"$bin/train" "$lmdata" --task language_modeling --arch transformer_lm --criterion cross_entropy \
  --decoder-layers 2 --decoder-embed-dim 128 --decoder-ffn-embed-dim 512 \
  --decoder-attention-heads 4 --dropout 0.1 --sample-break-mode eos --tokens-per-sample 256 \
  --optimizer adam --adam-betas '(0.9, 0.98)' --lr 1e-3 --lr-scheduler inverse_sqrt \
  --warmup-updates 100 --clip-norm 1 --max-tokens 4096 --max-update "$lm_updates" \
  --train-subset lm_train --valid-subset lm_valid --save-dir "$out/lm_ckpt" \
  --no-epoch-checkpoints --threads 1 --log-format simple --log-interval 100 --seed 1 \
  > "$out/lm_train.log" 2>&1
grep -E "valid on 'lm_valid'" "$out/lm_train.log" | tail -1

gen() {  # subset, extra flags... -> prints the WER
  "$bin/generate" "$data" --gen-subset "$1" --path "$ckpt" --beam "$beam" --scoring wer \
    --threads 1 --quiet "${@:2}" 2> "$out/gen.err" | grep -o 'WER: [0-9.]*' | cut -d' ' -f2
}

echo "== weights picked on dev (beam $beam)"
best_ng="" best_ng_wer=1000
for a in 0.5 1.0 2.0; do for b in 0 1 2; do
  w=$(gen dev --lm-path "$out/words3.arpa" --lm-weight $a --word-score $b)
  echo "   n-gram  --lm-weight $a --word-score $b: dev WER $w"
  if awk -v x="$w" -v y="$best_ng_wer" 'BEGIN { exit !(x < y) }'; then best_ng="$a $b"; best_ng_wer=$w; fi
done; done
best_nn="" best_nn_wer=1000
for a in 0.3 0.6 1.0; do for b in 0 0.5 1; do
  w=$(gen dev --lm-path "$out/lm_ckpt/checkpoint_best.pt" --lm-weight $a --word-score $b)
  echo "   neural  --lm-weight $a --word-score $b: dev WER $w"
  if awk -v x="$w" -v y="$best_nn_wer" 'BEGIN { exit !(x < y) }'; then best_nn="$a $b"; best_nn_wer=$w; fi
done; done
read -r ng_a ng_b <<< "$best_ng"
read -r nn_a nn_b <<< "$best_nn"

echo "== test (beam $beam)"
timed() {  # label, flags... -> WER and audio seconds per decoding second (1 thread)
  local w
  w=$(gen test "${@:2}")
  local rt
  rt=$(grep -o '[0-9.]* s of audio per second' "$out/gen.err" | tail -1 | cut -d' ' -f1)
  printf '   %-48s test WER %6s   %s x real time\n' "$1" "$w" "$rt"
}
timed "no LM" 
timed "n-gram (--lm-weight $ng_a --word-score $ng_b)" --lm-path "$out/words3.arpa" \
  --lm-weight "$ng_a" --word-score "$ng_b"
timed "transformer LM (--lm-weight $nn_a --word-score $nn_b)" \
  --lm-path "$out/lm_ckpt/checkpoint_best.pt" --lm-weight "$nn_a" --word-score "$nn_b"
echo "   CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
