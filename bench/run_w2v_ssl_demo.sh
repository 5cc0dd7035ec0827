#!/usr/bin/env bash
# The wav2vec 2.0 demonstration of docs/ssl.md: does wav2vec 2.0 pretraining on unlabelled audio
# help when only a tenth of the corpus has transcripts?
#   1. the espeak-ng corpus of bench/run_ssl_demo.sh (made here when CORPUS lacks it, the same
#      way: UTTS utterances, seed 11; the last 240 are dev (40) and test (200), of the rest the
#      first 10% are labelled): CORPUS/pt/{train,dev} (audio folders), CORPUS/data (prepare
#      --features raw: raw-audio TSVs, sentencepiece unigram 100);
#   2. pretrain a small wav2vec2 (--task audio_pretraining --criterion wav2vec) on ALL the
#      training audio, no transcripts, PT_UPDATES updates;
#   3. fine-tune wav2vec2_ctc from that checkpoint on the labelled 10% (extractor frozen, as
#      fairseq; the encoder frozen for the first FREEZE updates), FT_UPDATES updates; train the
#      same wav2vec2_ctc from scratch on the same 10% with the same flags and updates (no
#      --w2v-path, so nothing to keep frozen beyond the extractor; SCRATCH_FLAGS are appended);
#   4. decode dev and test with both (checkpoint_best by dev WER) and print the WERs.
# Every step skips what OUT already holds (delete a folder to redo it). Runs under `nice`.
#
#   CORPUS=/tmp/ssl OUT=/tmp/w2v_demo bench/run_w2v_ssl_demo.sh
#   PT_UPDATES=400 FT_UPDATES=800 LAYERS=4 DIM=192 bench/run_w2v_ssl_demo.sh
#   SCRATCH_FLAGS='--lr 1e-3' ...   # train flags appended for the baseline only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
corpus=${CORPUS:-/tmp/trellis_ssl_demo}
out=${OUT:-/tmp/trellis_w2v_demo}
utts=${UTTS:-2400}
pt_updates=${PT_UPDATES:-400} ft_updates=${FT_UPDATES:-800} freeze=${FREEZE:-100}
layers=${LAYERS:-4} dim=${DIM:-192} heads=${HEADS:-4} conv=${CONV:-128}
threads=${THREADS:-2}
nice=(nice -n "${NICE:-10}")
size=(--conv-feature-layers "[($conv, 10, 5)] + [($conv, 3, 2)] * 4 + [($conv, 2, 2)] * 2"
  --encoder-layers "$layers" --encoder-embed-dim "$dim" --encoder-ffn-embed-dim $((4 * dim))
  --encoder-attention-heads "$heads" --conv-pos 32 --conv-pos-groups 8)
read -r -a pt_flags <<< "${PT_FLAGS:---latent-vars 64 --latent-groups 2 --final-dim 128 \
--num-negatives 50 --mask-prob 0.65 --mask-length 10 --latent-temp (2,0.5,0.995) \
--feature-grad-mult 0.1 --encoder-layerdrop 0}"
read -r -a scratch_flags <<< "${SCRATCH_FLAGS:-}"
mkdir -p "$out"
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) cores;" \
  "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2)), $(date -u '+%F %T') UTC," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. corpus and splits (as bench/run_ssl_demo.sh) ---------------------------------------------
n_train=$((utts - 240)) n_lab=$(((utts - 240) / 10))
if [ ! -f "$corpus/data/train.tsv" ] || [ ! -d "$corpus/pt/train" ]; then
  bash "$root/scripts/make_corpus.sh" "$corpus/corpus" "$utts" 11 > /dev/null
  rm -rf "$corpus/lab" "$corpus/dev" "$corpus/test" "$corpus/pt"
  mkdir -p "$corpus/lab" "$corpus/dev" "$corpus/test" "$corpus/pt/train" "$corpus/pt/dev"
  for i in $(seq 1 "$utts"); do
    id=$(printf 'utt%05d' "$i")
    if [ "$i" -le "$n_lab" ]; then d=lab; elif [ "$i" -le "$n_train" ]; then d=; \
    elif [ "$i" -le $((n_train + 40)) ]; then d=dev; else d=test; fi
    [ -n "$d" ] && ln -sf "$corpus/corpus/$id.wav" "$corpus/corpus/$id.txt" "$corpus/$d/"
    if [ "$i" -le "$n_train" ]; then ln -sf "$corpus/corpus/$id.wav" "$corpus/pt/train/"; fi
    if [ "$d" = dev ]; then ln -sf "$corpus/corpus/$id.wav" "$corpus/pt/dev/"; fi
  done
  "$bin/prepare" --input-format dir --input "$corpus/lab,$corpus/dev,$corpus/test" \
    --splits train,dev,test --output-dir "$corpus/data" --vocab-type unigram --vocab-size 100 \
    --features raw --no-progress > "$corpus/prepare.log" 2>&1
fi
grep -q '^use_audio_input: true' "$corpus/data/config.yaml" ||
  { echo "run_w2v_ssl_demo.sh: $corpus/data is not a raw-audio folder (prepare --features raw)" >&2; exit 1; }
echo "== $(ls "$corpus/pt/train" | wc -l) unlabelled training utterances," \
  "$(($(wc -l < "$corpus/data/train.tsv") - 1)) labelled, 40 dev, 200 test"

# 2. pretraining ------------------------------------------------------------------------------
if [ ! -f "$out/ckpt_w2v/checkpoint_last.pt" ] || ! grep -q 'done training' "$out/pretrain.log"; then
  t0=$(date +%s)
  "${nice[@]}" "$bin/train" "$corpus/pt" --task audio_pretraining --train-subset train \
    --valid-subset dev --max-sample-size 48000 --min-sample-size 8000 \
    --arch wav2vec2 "${size[@]}" "${pt_flags[@]}" \
    --criterion wav2vec --infonce --loss-weights '[0.1, 10]' \
    --log-keys '["prob_perplexity","code_perplexity","temp"]' \
    --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-06 --weight-decay 0.01 \
    --lr "${PT_LR:-1e-3}" --lr-scheduler polynomial_decay --warmup-updates $((pt_updates / 10)) \
    --total-num-update "$pt_updates" --max-update "$pt_updates" \
    --max-tokens "${PT_MAX_TOKENS:-800000}" --required-batch-size-multiple 1 \
    --validate-interval-updates 100 --no-epoch-checkpoints --save-dir "$out/ckpt_w2v" \
    --threads "$threads" --num-workers 1 --seed 1 --log-format simple --log-interval 25 \
    > "$out/pretrain.log" 2>&1
  echo $(( $(date +%s) - t0 )) > "$out/pretrain.secs"
fi
echo "== pretraining: $pt_updates updates in $(cat "$out/pretrain.secs") s; dev at each validation:"
grep "valid on 'dev'" "$out/pretrain.log" |
  grep -oE '(num_updates|loss_0|accuracy|prob_perplexity|code_perplexity|temp) [0-9.e+-]+' |
  paste -d' ' - - - - - - | awk '{ print "   " $0 }'

# 3. fine-tuning and the from-scratch baseline ------------------------------------------------
declare -A secs
for cond in pretrained scratch; do
  init=(--w2v-path "$out/ckpt_w2v/checkpoint_last.pt" --freeze-finetune-updates "$freeze")
  [ "$cond" = scratch ] && init=(${scratch_flags[@]+"${scratch_flags[@]}"})
  if [ ! -f "$out/ckpt_$cond/checkpoint_best.pt" ] || ! grep -q 'done training' "$out/finetune_$cond.log"; then
    t0=$(date +%s)
    "${nice[@]}" "$bin/train" "$corpus/data" --task speech_to_text --arch wav2vec2_ctc \
      "${size[@]}" --max-source-positions 480000 --freeze-feature-encoder \
      --mask-prob "${FT_MASK:-0.3}" --mask-length 10 --layerdrop 0 --dropout 0.1 \
      --criterion ctc --zero-infinity --post-process sentencepiece \
      --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-08 --lr "${FT_LR:-5e-4}" \
      --lr-scheduler tri_stage --phase-ratio '[0.1, 0.4, 0.5]' --final-lr-scale 0.05 \
      --max-update "$ft_updates" --max-tokens "${FT_MAX_TOKENS:-400000}" --clip-norm 1.0 \
      --required-batch-size-multiple 1 --valid-subset dev --validate-interval-updates 100 \
      --validate-interval 1000 --best-checkpoint-metric wer --no-epoch-checkpoints \
      --save-dir "$out/ckpt_$cond" --threads "$threads" --num-workers 1 --seed 1 \
      --log-format simple --log-interval 50 "${init[@]}" > "$out/finetune_$cond.log" 2>&1
    echo $(( $(date +%s) - t0 )) > "$out/finetune_$cond.secs"
  fi
  for split in dev test; do
    [ -f "$out/ckpt_$cond/decode/generate-$split.txt" ] ||
      "${nice[@]}" "$bin/generate" "$corpus/data" --gen-subset "$split" \
        --path "$out/ckpt_$cond/checkpoint_best.pt" --beam 5 --scoring wer --threads "$threads" \
        --max-tokens 1000000 --results-path "$out/ckpt_$cond/decode" \
        > "$out/generate_${cond}_$split.log" 2>&1
  done
  secs[$cond]=$(cat "$out/finetune_$cond.secs")
done

wer() { tail -1 "$out/ckpt_$1/decode/generate-$2.txt" | grep -oE 'WER[^0-9]*[0-9.]+' | grep -oE '[0-9.]+$'; }
n_lab=$(($(wc -l < "$corpus/data/train.tsv") - 1))
echo
echo "| wav2vec2_ctc ($ft_updates updates on $n_lab labelled utterances) | fine-tuning s | dev WER | test WER |"
echo "|---|---:|---:|---:|"
echo "| from wav2vec 2.0 ($pt_updates pretraining updates, $(cat "$out/pretrain.secs") s) |" \
  "${secs[pretrained]} | $(wer pretrained dev) | $(wer pretrained test) |"
echo "| from scratch | ${secs[scratch]} | $(wer scratch dev) | $(wer scratch test) |"
