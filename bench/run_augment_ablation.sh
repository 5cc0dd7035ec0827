#!/usr/bin/env bash
# Waveform augmentation ablation (issue 15): the quickstart's conformer CTC model trained twice
# with identical flags on the same espeak-ng corpus, (a) on stored fbank features, (b) on the
# training audio perturbed on the fly (speed_perturb, gain, noise, reverb; noise and RIRs from
# scripts/make_noise_rir.sh) with fbank computed on the fly, then both decoded (generate
# --beam 5 --scoring wer, as the quickstart) on
#   test_matched:    the training conditions (make_corpus.sh's voices, speeds and pitches, clean),
#                    other sentences (another seed);
#   test_mismatched: voices, speaking rates and pitches that make_corpus.sh never uses, then an
#                    algorithmic room reverb (sox `reverb`, not one of make_noise_rir.sh's RIRs)
#                    and a noise type absent from the training noise set (band-passed hiss or a
#                    sawtooth "engine" drone) mixed at an SNR drawn in [10, 15] dB.
# Dev (for the best checkpoint) and both test sets keep the stored features of one prepare run,
# so they share the training dict.txt. Prints a WER table, the CPU and the timings.
#
#   bench/run_augment_ablation.sh                    # 300 training utterances, 600 updates
#   UPDATES=300 UTTS=200 WORK=/tmp/abl bench/run_augment_ablation.sh
#   NOISE_PROB=0.5 SNR_MIN=10 SNR_MAX=30 REVERB_PROB=0.3 WORK=/tmp/abl bench/run_augment_ablation.sh
#                                                    # milder augmentation (defaults 0.8, 5, 25, 0.5)
# WORK is reused: the corpora and prepared data are kept (a .done marker), the trainings resume;
# an augmented model of other strength trains in its own folder (ckpt_augmented_n..._r...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
work=${WORK:-$(mktemp -d /tmp/trellis_augment_ablation.XXXXXX)}
work=$(mkdir -p "$work" && cd "$work" && pwd)
updates=${UPDATES:-600}
n_train=${UTTS:-300}
n_dev=${DEV_UTTS:-40}
n_test=${TEST_UTTS:-80}
workers=${WORKERS:-2}
# The augmentation's strength; other values train the augmented model in its own folder.
noise_prob=${NOISE_PROB:-0.8} snr_min=${SNR_MIN:-5} snr_max=${SNR_MAX:-25}
reverb_prob=${REVERB_PROB:-0.5}
aug_tag=augmented
if [ "$noise_prob $snr_min $snr_max $reverb_prob" != "0.8 5 25 0.5" ]; then
  aug_tag="augmented_n${noise_prob}_snr${snr_min}-${snr_max}_r${reverb_prob}"
fi
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) ($(nproc) cores;" \
  "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2 only)), $(date -u '+%F %T UTC')"
echo "== $n_train train / $n_dev dev / $n_test + $n_test test utterances, $updates updates," \
  "$workers loader workers, work dir $work"

# make_corpus.sh names every utterance utt%05d: give a corpus folder's files a prefix.
prefix_ids() {  # $1: folder, $2: prefix
  local f
  for f in "$1"/utt*.wav "$1"/utt*.txt; do mv "$f" "$1/$2${f##*/}"; done
}

# The mismatched set: the same grammar as make_corpus.sh, unseen voices / rates / pitches,
# reverberated and noisy.
make_mismatched() {  # $1: out folder, $2: n, $3: seed
  local out=$1 tmp id voice speed pitch text dur snr kind rs rn f
  mkdir -p "$out"
  tmp=$(mktemp -d)
  awk -v n="$2" -v seed="$3" 'BEGIN {
    srand(seed);
    split("the a one every this that", det, " ");
    split("red green small big old new quiet loud happy tired bright dark", adj, " ");
    split("cat dog bird fish horse child teacher farmer doctor singer river garden house tree car boat", noun, " ");
    split("sees likes finds helps follows watches calls paints carries visits", verb, " ");
    split("today slowly quickly again at night in the morning near the river", adv, ",");
    split("en-us+f4 en-gb+m2 en+f5 en-029 en-us+klatt", voice, " ");
    split("115 205", speed, " ");
    split("20 80", pitch, " ");
    for (i = 1; i <= n; i++) {
      s = det[int(rand()*6)+1] " " adj[int(rand()*12)+1] " " noun[int(rand()*16)+1] " " \
          verb[int(rand()*10)+1] " " det[int(rand()*6)+1] " " noun[int(rand()*16)+1];
      if (rand() < 0.5) s = s " " adv[int(rand()*6)+1];
      printf "mm_%05d\t%s\t%s\t%s\t%.2f\t%d\t%s\n", i, voice[int(rand()*5)+1], \
          speed[int(rand()*2)+1], pitch[int(rand()*2)+1], 10 + 5 * rand(), int(rand()*2), s;
    }
  }' > "$out/utterances.tsv"
  while IFS=$'\t' read -r id voice speed pitch snr kind text; do
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$text" 2>/dev/null
    # Room: sox's freeverb-style reverb (reverberance 50 %, HF damping 50 %, room scale 80 %).
    sox -q "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$tmp/rev.wav" reverb 50 50 80
    dur=$(soxi -D "$tmp/rev.wav")
    if [ "$kind" = 0 ]; then  # hiss: band-passed white noise, slowly fluttering
      sox -q -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$dur" whitenoise \
        bandpass 2500 1500h tremolo 0.7 40
    else                      # engine: a sawtooth drone at 87 + 131 Hz, low-passed, pulsing
      sox -q -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$dur" sawtooth 87 sawtooth 131 \
        remix - lowpass 1500 tremolo 6 50
    fi
    rs=$(sox "$tmp/rev.wav" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }')
    rn=$(sox "$tmp/noise.wav" -n stat 2>&1 | awk '/RMS +amplitude/ { print $3 }')
    f=$(awk -v s="$rs" -v n="$rn" -v snr="$snr" 'BEGIN { printf "%.6f", s / n * 10 ^ (-snr / 20) }')
    # Explicit -v on both inputs: no 1/n mix scaling, so the mix has the drawn SNR (over the
    # whole file); then peak-normalised to -3 dBFS, which keeps the SNR.
    sox -q -m -v 1 "$tmp/rev.wav" -v "$f" "$tmp/noise.wav" -b 16 "$out/$id.wav" gain -n -3
    printf "%s\n" "$text" > "$out/$id.txt"
  done < "$out/utterances.tsv"
  rm -rf "$tmp"
  echo "[mismatched] $(ls "$out"/*.wav | wc -l) utterances in $out"
}

if [ ! -f "$work/data/.done" ]; then
  t0=$(date +%s)
  # Train + dev from one make_corpus.sh run (seed 1, as the quickstart), dev = the last n_dev.
  bash "$root/scripts/make_corpus.sh" "$work/corpus" $((n_train + n_dev)) 1 > /dev/null
  mkdir -p "$work/dev"
  for i in $(seq $((n_train + 1)) $((n_train + n_dev))); do
    id=$(printf 'utt%05d' "$i")
    mv "$work/corpus/$id.wav" "$work/corpus/$id.txt" "$work/dev/"
  done
  rm -f "$work/corpus/utterances.tsv"
  bash "$root/scripts/make_corpus.sh" "$work/matched" "$n_test" 3 > /dev/null
  rm -f "$work/matched/utterances.tsv"
  prefix_ids "$work/matched" tm_
  make_mismatched "$work/mismatched" "$n_test" 4
  "$bin/prepare" --input-format dir \
    --input "$work/corpus,$work/dev,$work/matched,$work/mismatched" \
    --splits train,dev,test_matched,test_mismatched --output-dir "$work/data" \
    --vocab-type char --features fbank80 --cmvn utterance --num-workers "$(nproc)" \
    --no-progress > "$work/prepare.log" 2>&1
  bash "$root/scripts/make_noise_rir.sh" "$work/aug" > /dev/null
  touch "$work/data/.done"
  echo "== corpora + prepare: $(( $(date +%s) - t0 )) s"
fi

# data_aug: the training manifest points at the audio (fbank on the fly, augmented); dev and
# the tests keep the stored features (decoding uses $work/data for both models anyway).
mkdir -p "$work/data_aug"
cp "$work/data/dict.txt" "$work/data/dev.tsv" "$work/data_aug/"
awk -F'\t' -v OFS='\t' -v corpus="$work/corpus" \
  'NR == 1 { print; next } { $2 = corpus "/" $1 ".wav"; print }' \
  "$work/data/train.tsv" > "$work/data_aug/train.tsv"
awk -F'\t' 'NR > 1 { print $2 }' "$work/data_aug/train.tsv" | while read -r f; do
  [ -f "$f" ] || { echo "missing training audio $f" >&2; exit 1; }
done
{
  cat "$work/data/config.yaml"
  echo "is_input_waveform: true"
  echo "waveform_sample_rate: 16000"
  echo "waveform_transforms:"
  echo "  _train: [speed_perturb, gain, noise, reverb]"
  echo "speed_perturb: {factors: [0.9, 1.0, 1.1]}"
  echo "gain: {min_gain_dbfs: -6, max_gain_dbfs: 6}"
  echo "noise: {manifest: $work/aug/noise.lst, prob: $noise_prob, min_snr_db: $snr_min, max_snr_db: $snr_max}"
  echo "reverb: {manifest: $work/aug/rir.lst, prob: $reverb_prob}"
} > "$work/data_aug/config.yaml"

train() {  # $1: data dir, $2: save dir, $3: log file. The quickstart's flags.
  "$bin/train" "$1" --task speech_to_text_ctc --arch conformer_ctc --criterion ctc \
    --optimizer adam --lr 2e-3 --adam-betas '(0.9, 0.98)' --lr-scheduler inverse_sqrt \
    --warmup-updates 150 --clip-norm 10 --max-tokens 8000 --max-update "$updates" \
    --encoder-layers 4 --encoder-embed-dim 144 --encoder-attention-heads 4 \
    --encoder-ffn-embed-dim 576 --conv-channels 256 --conformer-conv-kernel-size 15 \
    --dropout 0.1 --valid-subset dev --best-checkpoint-metric wer --validate-interval 5 \
    --save-dir "$2" --no-epoch-checkpoints --log-interval 50 --num-workers "$workers" \
    --log-file "$3" > /dev/null 2>&1
}
decode() {  # $1: checkpoint dir, $2: split -> "WER" (the number)
  "$bin/generate" "$work/data" --gen-subset "$2" --path "$1/checkpoint_best.pt" \
    --beam 5 --scoring wer --results-path "$1/decode" > /dev/null 2>&1
  tail -1 "$1/decode/generate-$2.txt" | grep -oE 'WER[^0-9]*[0-9.]+' | grep -oE '[0-9.]+$'
}

declare -A secs wer
for cond in baseline "$aug_tag"; do
  data=$work/data
  [ "$cond" != baseline ] && data=$work/data_aug
  t0=$(date +%s)
  train "$data" "$work/ckpt_$cond" "$work/train_$cond.log"
  secs[$cond]=$(( $(date +%s) - t0 ))
  echo "== $cond: trained in ${secs[$cond]} s ($work/train_$cond.log)"
  for split in test_matched test_mismatched; do
    wer[$cond,$split]=$(decode "$work/ckpt_$cond" "$split")
    echo "   $split: $(tail -1 "$work/ckpt_$cond/decode/generate-$split.txt")"
  done
done

echo
echo "| model ($updates updates) | train s | WER test_matched | WER test_mismatched |"
echo "|---|---|---|---|"
for cond in baseline "$aug_tag"; do
  echo "| $cond | ${secs[$cond]} | ${wer[$cond,test_matched]} | ${wer[$cond,test_mismatched]} |"
done
