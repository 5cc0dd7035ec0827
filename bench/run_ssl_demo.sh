#!/usr/bin/env bash
# The SSL demonstration of docs/ssl.md: does NEST pretraining on unlabelled audio help when only
# a tenth of the corpus has transcripts?
#   1. an espeak-ng corpus (scripts/make_corpus.sh, UTTS utterances, seed 11): the last 240 are
#      dev (40) and test (200); of the rest (the training audio), the first 10% are labelled;
#   2. pretrain a small Fast Conformer with NEST (examples/ssl/nest_pretrain.sh) on ALL the
#      training audio, no transcripts, PT_UPDATES updates, noise from scripts/make_noise_rir.sh,
#      with the small-budget settings PT_FLAGS (docs/ssl.md says why NeMo's 8192 classes and
#      40-frame blocks learn nothing beyond the token prior in a budget this small);
#   3. fine-tune it with CTC on the labelled 10% (examples/ssl/nest_finetune.sh), FT_UPDATES
#      updates; train the same CTC model from scratch on the same 10% for the same updates;
#   4. decode the test split with both (best dev WER checkpoint) and print the two WERs.
# Every step skips what WORK already holds (delete a folder to redo it).
#
#   WORK=/tmp/ssl bench/run_ssl_demo.sh
#   UTTS=2400 PT_UPDATES=150 FT_UPDATES=400 LAYERS=4 DIM=144 WORK=/tmp/ssl bench/run_ssl_demo.sh
#   PT_FLAGS='--num-classes 8192 --block-size 40 --mask-prob 0.01' ...   # NeMo's defaults
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
work=${WORK:-/tmp/trellis_ssl_demo}
utts=${UTTS:-2400}
pt_updates=${PT_UPDATES:-150} ft_updates=${FT_UPDATES:-400}
layers=${LAYERS:-4} dim=${DIM:-144} heads=${HEADS:-4}
size=(--encoder-layers "$layers" --encoder-embed-dim "$dim" --encoder-attention-heads "$heads")
read -r -a pt_flags <<< "${PT_FLAGS:---num-classes 256 --block-size 16 --mask-prob 0.03 --clip-norm 1.0}"
export TRELLIS_BIN=$bin WORKERS=${WORKERS:-2}
mkdir -p "$work"
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores;" \
  "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2)), $(date -u '+%F %T') UTC"

# 1. corpus and splits ------------------------------------------------------------------------
n_train=$((utts - 240)) n_lab=$(((utts - 240) / 10))
if [ ! -f "$work/data_nemo/.done" ]; then
  bash "$root/scripts/make_corpus.sh" "$work/corpus" "$utts" 11 > /dev/null
  rm -rf "$work/lab" "$work/dev" "$work/test" "$work/pt"
  mkdir -p "$work/lab" "$work/dev" "$work/test" "$work/pt/train" "$work/pt/dev"
  for i in $(seq 1 "$utts"); do
    id=$(printf 'utt%05d' "$i")
    if [ "$i" -le "$n_lab" ]; then d=lab; elif [ "$i" -le "$n_train" ]; then d=; \
    elif [ "$i" -le $((n_train + 40)) ]; then d=dev; else d=test; fi
    [ -n "$d" ] && ln -sf "$work/corpus/$id.wav" "$work/corpus/$id.txt" "$work/$d/"
    if [ "$i" -le "$n_train" ]; then ln -sf "$work/corpus/$id.wav" "$work/pt/train/"; fi
    if [ "$d" = dev ]; then ln -sf "$work/corpus/$id.wav" "$work/pt/dev/"; fi
  done
  "$bin/prepare" --input-format dir --input "$work/lab,$work/dev,$work/test" \
    --splits train,dev,test --output-dir "$work/data" --vocab-type unigram --vocab-size 100 \
    --features raw --no-progress > "$work/prepare.log" 2>&1
  # The NeMo front end on the fly: manifests point at the audio, sizes in 10 ms frames.
  mkdir -p "$work/data_nemo"
  cp "$work/data"/spm_unigram100.* "$work/data_nemo/"
  for s in train dev test; do
    awk -F'\t' -v OFS='\t' 'NR == 1 { print; next } { $3 = int($3 / 160); print }' \
      "$work/data/$s.tsv" > "$work/data_nemo/$s.tsv"
  done
  { grep -v '^use_audio_input' "$work/data/config.yaml"; echo "front_end: nemo_mel"; } \
    > "$work/data_nemo/config.yaml"
  bash "$root/scripts/make_noise_rir.sh" "$work/aug" > /dev/null
  touch "$work/data_nemo/.done"
fi
echo "== $n_train training utterances ($n_lab labelled), 40 dev, 200 test"

# 2. pretraining ------------------------------------------------------------------------------
t0=$(date +%s)
NOISE=$work/aug/noise.lst MAX_UPDATE=$pt_updates WARMUP=$((pt_updates / 3)) D_MODEL=$dim \
  LR=${PT_LR:-0.12} MAX_TOKENS=${PT_MAX_TOKENS:-12000} \
  bash "$root/examples/ssl/nest_pretrain.sh" "$work/pt" "$work/ckpt_nest" "${size[@]}" "${pt_flags[@]}" \
  --log-format simple --log-interval 25 --log-file "$work/pretrain.log" > /dev/null 2>&1
pt_secs=$(( $(date +%s) - t0 ))
echo "== pretraining: $pt_updates updates in $pt_secs s; first and last logged losses / accuracies:"
grep train_inner "$work/pretrain.log" | sed -n '1p;$p' | grep -oE '(loss|accuracy)=[0-9.]+' | paste -sd' '

# 3. fine-tuning and the from-scratch baseline ------------------------------------------------
declare -A secs wer
for cond in pretrained scratch; do
  init=$work/ckpt_nest/checkpoint_last.pt
  [ "$cond" = scratch ] && init=
  t0=$(date +%s)
  MAX_UPDATE=$ft_updates WARMUP=$((ft_updates / 4)) LR=${FT_LR:-1e-3} \
    bash "$root/examples/ssl/nest_finetune.sh" "$work/data_nemo" "$init" "$work/ckpt_$cond" \
    "${size[@]}" --log-format simple --log-interval 50 --log-file "$work/finetune_$cond.log" \
    > /dev/null 2>&1
  secs[$cond]=$(( $(date +%s) - t0 ))
  "$bin/generate" "$work/data_nemo" --gen-subset test --path "$work/ckpt_$cond/checkpoint_best.pt" \
    --beam 5 --scoring wer --results-path "$work/ckpt_$cond/decode" > /dev/null 2>&1
  wer[$cond]=$(tail -1 "$work/ckpt_$cond/decode/generate-test.txt" | grep -oE 'WER[^0-9]*[0-9.]+' | grep -oE '[0-9.]+$')
  echo "== $cond: fine-tuned in ${secs[$cond]} s; $(tail -1 "$work/ckpt_$cond/decode/generate-test.txt")"
done

echo
echo "| CTC model ($ft_updates updates on $n_lab labelled utterances) | train s | test WER |"
echo "|---|---:|---:|"
echo "| from NEST ($pt_updates pretraining updates on $n_train unlabelled, $pt_secs s) | ${secs[pretrained]} | ${wer[pretrained]} |"
echo "| from scratch | ${secs[scratch]} | ${wer[scratch]} |"
