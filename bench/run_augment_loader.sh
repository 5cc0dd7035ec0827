#!/usr/bin/env bash
# The data loader's share of the training step with every waveform transform on (issue 15):
# the quickstart's conformer CTC model trained on an espeak-ng corpus whose training audio is
# speed-, gain-, noise- and reverb-perturbed and turned into fbank on the fly by --num-workers
# threads, against the same run on stored fbank features without augmentation. Prints the
# `data` value of train's log (percent of the time the loop waited for batches, out of that wait
# plus the time in training steps) for both, with the machine's CPU and the flags.
#
#   bench/run_augment_loader.sh                 # 200 utterances, 40 updates, 2 workers
#   UPDATES=80 WORKERS=1 bench/run_augment_loader.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
work=${WORK:-$(mktemp -d /tmp/trellis_augment_bench.XXXXXX)}
updates=${UPDATES:-40}
workers=${WORKERS:-2}
threads=${THREADS:-2}
echo "== $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) ($(nproc) cores;" \
  "$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || echo AVX2 only)), $threads compute" \
  "threads, $workers loader workers, $updates updates, work dir $work"

if [ ! -f "$work/data/.done" ]; then
  bash "$root/scripts/make_corpus.sh" "$work/corpus" 200 3 > /dev/null
  "$bin/prepare" --input-format dir --input "$work/corpus" --output-dir "$work/data" \
    --splits train:0.9,dev:0.1 --vocab-type char --no-progress > "$work/prepare.log" 2>&1
  bash "$root/scripts/make_noise_rir.sh" "$work/aug" > /dev/null
  touch "$work/data/.done"
fi

# data_aug: the training manifest points at the audio; dev keeps the stored features.
mkdir -p "$work/data_aug"
cp "$work/data/dict.txt" "$work/data/dev.tsv" "$work/data_aug/"
awk -F'\t' -v OFS='\t' -v corpus="$work/corpus" \
  'NR == 1 { print; next } { $2 = corpus "/" $1 ".wav"; print }' \
  "$work/data/train.tsv" > "$work/data_aug/train.tsv"
{
  cat "$work/data/config.yaml"
  echo "is_input_waveform: true"
  echo "waveform_sample_rate: 16000"
  echo "waveform_transforms:"
  echo "  _train: [speed_perturb, gain, noise, reverb]"
  echo "speed_perturb: {factors: [0.9, 1.0, 1.1]}"
  echo "gain: {min_gain_dbfs: -6, max_gain_dbfs: 6}"
  echo "noise: {manifest: $work/aug/noise.lst, prob: 1.0, min_snr_db: 5, max_snr_db: 20}"
  echo "reverb: {manifest: $work/aug/rir.lst, prob: 1.0}"
} > "$work/data_aug/config.yaml"

run() {  # $1: data dir, $2: save dir -> the log
  "$bin/train" "$1" --task speech_to_text_ctc --arch conformer_ctc --criterion ctc \
    --optimizer adam --lr 2e-3 --lr-scheduler inverse_sqrt --warmup-updates 150 \
    --clip-norm 10 --max-tokens 8000 --max-update "$updates" --encoder-layers 4 \
    --encoder-embed-dim 144 --encoder-attention-heads 4 --encoder-ffn-embed-dim 576 \
    --conv-channels 256 --conformer-conv-kernel-size 15 --dropout 0.1 --disable-validation \
    --no-save --log-format simple --log-interval 10 --threads "$threads" \
    --num-workers "$workers" --save-dir "$2" 2>&1
}
summary() {  # $1: log -> "data=X% train_wall=Y s ups=Z" of the epoch line(s), mean of inner lines
  awk '/train_inner/ { if (match($0, /data=[0-9.]+/)) { s += substr($0, RSTART + 5, RLENGTH - 5); n++ }
                       if (match($0, /ups=[0-9.]+/)) { u += substr($0, RSTART + 4, RLENGTH - 4) } }
       END { if (n) printf "loader share (data) %.1f%% mean of %d log windows, %.2f updates/s\n", s / n, n, u / n;
             else print "no train_inner lines" }' "$1"
}
run "$work/data" "$work/save_plain" > "$work/plain.log"
run "$work/data_aug" "$work/save_aug" > "$work/aug.log"
echo "stored fbank, no augmentation:                 $(summary "$work/plain.log")"
echo "audio -> speed, gain, noise, reverb -> fbank:  $(summary "$work/aug.log")"
