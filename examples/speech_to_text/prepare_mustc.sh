#!/usr/bin/env bash
# MuST-C -> a fairseq speech_to_text data folder, as FBK's/fairseq's prep_mustc_data.py does:
# every talk's segments (txt/SPLIT.yaml: offset, duration, speaker_id, wav) are cut out of
# wav/TALK.wav with sox (prepare's TSV input takes whole files, no offsets), with ids TALK_N
# (N = the segment's index in its talk), English transcripts (txt/SPLIT.en) and target
# translations (txt/SPLIT.TGT_LANG) from the line-aligned text files; then `prepare` extracts
# fbank80 features and builds the vocabularies.
# Usage: examples/speech_to_text/prepare_mustc.sh MUSTC_DIR OUT_DIR
#   MUSTC_DIR  holds en-TGT_LANG/data/{train,dev,tst-COMMON}/{wav/*.wav, txt/SPLIT.yaml,
#              txt/SPLIT.en, txt/SPLIT.TGT_LANG} (or is the en-TGT_LANG folder itself)
#   OUT_DIR    the data folder (DATA_ROOT); OUT_DIR/segments holds the cut wavs (kept, so a
#              second run cuts nothing), OUT_DIR/raw the input tables
# Environment:
#   TASK        st (default): tgt_text = translation with a <lang:TGT_LANG> tag, src_text =
#               transcript, splits SPLIT_st, data config config_st.yaml with a source vocabulary
#               for the CTC side (the seed commands' setup); asr: tgt_text = src_text =
#               transcript, splits SPLIT_asr, config.yaml
#   TGT_LANG    target language (de)
#   SPLITS      MuST-C splits (train dev tst-COMMON)
#   VOCAB_TYPE / VOCAB_SIZE          target vocabulary (unigram / 8000)
#   SRC_VOCAB_TYPE / SRC_VOCAB_SIZE  source vocabulary, TASK=st (unigram / 5000)
#   PREPARE_ARGS  more prepare flags; TRELLIS_BIN  the executables (build/bin)
set -euo pipefail
usage="usage: prepare_mustc.sh MUSTC_DIR OUT_DIR"
src=${1:?$usage}
out=${2:?$usage}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
task=${TASK:-st}
lang=${TGT_LANG:-de}
read -r -a splits <<< "${SPLITS:-train dev tst-COMMON}"
read -r -a prepare_args <<< "${PREPARE_ARGS:-}"
vocab_type=${VOCAB_TYPE:-unigram}
vocab_size=${VOCAB_SIZE:-8000}
die() { echo "prepare_mustc.sh: $*" >&2; exit 1; }
[ "$task" = st ] || [ "$task" = asr ] || die "TASK=$task: expected st or asr"
command -v sox > /dev/null || die "sox missing: run scripts/install_deps.sh"
if [ -d "$src/en-$lang/data" ]; then data=$src/en-$lang/data
elif [ -d "$src/data" ]; then data=$src/data
else die "$src: no en-$lang/data folder (MuST-C layout)"; fi
mkdir -p "$out/raw" "$out/segments"
out=$(cd "$out" && pwd)

inputs=()
names=()
for split in "${splits[@]}"; do
  txt=$data/$split/txt
  for f in "$txt/$split.yaml" "$txt/$split.en" "$txt/$split.$lang"; do
    [ -f "$f" ] || die "$f: missing"
  done
  # Segments: one "wav<TAB>offset<TAB>duration<TAB>speaker" line per YAML list entry (flow
  # style `- {duration: 3.5, offset: 1.2, speaker_id: spk.1, wav: ted_1.wav}` as released, or
  # block style with one key per line).
  awk '
    function flush() {
      if (n && (wav == "" || off == "" || dur == "")) bad = 1
      else if (n) print wav "\t" off "\t" dur "\t" spk
      n = 0; wav = off = dur = spk = ""
    }
    function field(s, k,   v) {
      if (!match(s, "(^|[{ ,-])" k ": *[^,}]*")) return ""
      v = substr(s, RSTART, RLENGTH); sub("^.*" k ": *", "", v)
      gsub(/^[\"'\'' ]+|[\"'\'' \r]+$/, "", v); return v
    }
    /^(---|\.\.\.)/ { next }
    /^-/ { flush(); n = 1 }
    {
      if ((v = field($0, "wav")) != "") wav = v
      if ((v = field($0, "offset")) != "") off = v
      if ((v = field($0, "duration")) != "") dur = v
      if ((v = field($0, "speaker_id")) != "") spk = v
    }
    END { flush(); if (bad) exit 1 }' "$txt/$split.yaml" \
    > "$out/raw/$split.segments" || die "$txt/$split.yaml: an entry lacks wav, offset or duration"
  n_seg=$(wc -l < "$out/raw/$split.segments")
  n_en=$(wc -l < "$txt/$split.en")
  n_tgt=$(wc -l < "$txt/$split.$lang")
  if [ "$n_seg" -ne "$n_en" ] || [ "$n_seg" -ne "$n_tgt" ]; then
    die "$split: $n_seg segments in $split.yaml, $n_en lines in $split.en, $n_tgt in $split.$lang"
  fi

  # Ids TALK_N, the cut wav of each, the input tables (tabs in texts become spaces).
  mkdir -p "$out/segments/$split"
  paste "$out/raw/$split.segments" <(tr '\t\r' '  ' < "$txt/$split.en") \
    <(tr '\t\r' '  ' < "$txt/$split.$lang") | awk -F'\t' -v wavs="$data/$split/wav" \
    -v seg="$out/segments/$split" -v jobs="$out/raw/$split.jobs" -v st="$out/raw/$split.st.tsv" \
    -v asr="$out/raw/$split.asr.tsv" '
    BEGIN {
      OFS = "\t"
      print "id", "audio", "tgt_text", "src_text", "speaker" > st
      print "id", "audio", "tgt_text", "speaker" > asr
      printf "" > jobs
    }
    {
      talk = $1; sub(/\.[^.]*$/, "", talk)
      id = talk "_" (count[talk]++)
      audio = seg "/" id ".wav"
      print wavs "/" $1, audio, $2, $3 > jobs
      print id, audio, $6, $5, $4 > st
      print id, audio, $5, $4 > asr
    }'
  # Cut (in parallel; a segment already cut is kept). jobs: talk wav, segment wav, offset,
  # duration, tab-separated.
  tr '\t\n' '\0\0' < "$out/raw/$split.jobs" | xargs -0 -n 4 -P "$(nproc)" sh -c \
    '[ -s "$1" ] || { sox "$0" "$1.part.wav" trim "$2" "$3" && mv "$1.part.wav" "$1"; }'
  rm -f "$out/raw/$split.jobs" "$out/raw/$split.segments"
  echo "[prepare_mustc] $split: $n_seg segments in $out/segments/$split"
  inputs+=("$out/raw/$split.$task.tsv")
  names+=("${split}_$task")
done

IFS=, ; input_list="${inputs[*]}"; split_list="${names[*]}"; unset IFS
common=(--input-format tsv --features fbank80 --cmvn utterance --num-workers "$(nproc)")
if [ "$task" = asr ]; then
  "$bin/prepare" "${common[@]}" --input "$input_list" --splits "$split_list" --output-dir "$out" \
    --vocab-type "$vocab_type" --vocab-size "$vocab_size" --src-text-from tgt \
    ${prepare_args[@]+"${prepare_args[@]}"}
  echo "[prepare_mustc] wrote $out (config.yaml, ${split_list//,/.tsv, }.tsv)"
  exit 0
fi

# TASK=st: target side (translations, language tag) with the features ...
"$bin/prepare" "${common[@]}" --input "$input_list" --splits "$split_list" --output-dir "$out" \
  --vocab-type "$vocab_type" --vocab-size "$vocab_size" --tgt-lang "$lang" \
  --prepend-tgt-lang-tag ${prepare_args[@]+"${prepare_args[@]}"}
# ... and the source vocabulary from the training transcripts (raw features: no fbank again).
src_type=${SRC_VOCAB_TYPE:-unigram}
src_size=${SRC_VOCAB_SIZE:-5000}
"$bin/prepare" --input-format tsv --features raw --input "$out/raw/${splits[0]}.asr.tsv" \
  --splits train --output-dir "$out/src_vocab" --vocab-type "$src_type" \
  --vocab-size "$src_size" --no-progress
cp "$out/config.yaml" "$out/config_st.yaml"
if [ "$src_type" = char ]; then
  cp "$out/src_vocab/dict.txt" "$out/src_dict.txt"
  printf 'vocab_filename_src: src_dict.txt\nbpe_tokenizer_src: {bpe: characters}\n' \
    >> "$out/config_st.yaml"
else
  spm=spm_$src_type$src_size
  cp "$out/src_vocab/$spm.model" "$out/src_$spm.model"
  cp "$out/src_vocab/$spm.txt" "$out/src_$spm.txt"
  printf 'vocab_filename_src: src_%s.txt\nbpe_tokenizer_src: {bpe: sentencepiece, sentencepiece_model: %s}\n' \
    "$spm" "$out/src_$spm.model" >> "$out/config_st.yaml"
fi
rm -rf "$out/src_vocab"
echo "[prepare_mustc] wrote $out (config_st.yaml, ${split_list//,/.tsv, }.tsv)"
