#!/usr/bin/env bash
# LibriSpeech -> a fairseq speech_to_text data folder (fbank80 zip, one TSV per split,
# SentencePiece vocabulary, config.yaml), as fairseq's prep_librispeech_data.py does: ids
# SPEAKER-CHAPTER-UTT, lower-cased transcripts, speaker column, unigram vocabulary from the
# training text. src_text = tgt_text, so the ASR data also serves speech_to_text_ctc /
# ctc_multi_loss (the CTC side reads the transcript).
# Usage: examples/speech_to_text/prepare_librispeech.sh LIBRISPEECH_DIR OUT_DIR
#   LIBRISPEECH_DIR  holds SPLIT/SPEAKER/CHAPTER/SPEAKER-CHAPTER-UTT.flac and
#                    SPEAKER-CHAPTER.trans.txt ("SPEAKER-CHAPTER-UTT TEXT" lines), SPLIT one of
#                    train-clean-100 train-clean-360 train-other-500 dev-clean dev-other
#                    test-clean test-other (the ones present are used)
#   OUT_DIR          the data folder (DATA_ROOT); OUT_DIR/raw/SPLIT.tsv keeps the input tables
# Environment: SPLITS (space-separated, default: every standard split present), VOCAB_TYPE
# (unigram), VOCAB_SIZE (10000), PREPARE_ARGS (more prepare flags), TRELLIS_BIN (build/bin).
set -euo pipefail
usage="usage: prepare_librispeech.sh LIBRISPEECH_DIR OUT_DIR"
src=${1:?$usage}
out=${2:?$usage}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
read -r -a prepare_args <<< "${PREPARE_ARGS:-}"
[ -d "$src" ] || { echo "prepare_librispeech.sh: $src: not a folder" >&2; exit 1; }

if [ -z "${SPLITS:-}" ]; then
  SPLITS=""
  for s in train-clean-100 train-clean-360 train-other-500 dev-clean dev-other test-clean \
           test-other; do
    [ -d "$src/$s" ] && SPLITS="$SPLITS $s"
  done
fi
read -r -a splits <<< "$SPLITS"
[ ${#splits[@]} -gt 0 ] || { echo "prepare_librispeech.sh: no LibriSpeech split folder in $src" >&2; exit 1; }

# One input table per split: id, audio (absolute path), tgt_text (lower-cased), speaker.
mkdir -p "$out/raw"
inputs=()
for split in "${splits[@]}"; do
  dir=$(cd "$src/$split" && pwd)
  table=$out/raw/$split.tsv
  printf 'id\taudio\ttgt_text\tspeaker\n' > "$table"
  find "$dir" -name '*.trans.txt' -print0 | sort -z | xargs -0 -r awk '
    BEGIN { OFS = "\t" }
    FNR == 1 { d = FILENAME; sub(/\/[^\/]*$/, "", d) }
    { sub(/\r$/, "") }
    NF >= 1 {
      id = $1; text = $0; sub(/^[^ \t]+[ \t]*/, "", text); gsub(/\t/, " ", text)
      split(id, part, "-")
      print id, d "/" id ".flac", tolower(text), part[1]
    }' >> "$table"
  rows=$(($(wc -l < "$table") - 1))
  [ "$rows" -gt 0 ] || { echo "prepare_librispeech.sh: no transcripts under $dir" >&2; exit 1; }
  echo "[prepare_librispeech] $split: $rows utterances -> $table"
  inputs+=("$table")
done

# fbank80 features, manifests named after the splits, vocabulary from the train* splits.
IFS=, ; input_list="${inputs[*]}"; split_list="${splits[*]}"; unset IFS
"$bin/prepare" --input-format tsv --input "$input_list" --splits "$split_list" \
  --output-dir "$out" --vocab-type "${VOCAB_TYPE:-unigram}" --vocab-size "${VOCAB_SIZE:-10000}" \
  --features fbank80 --cmvn utterance --src-text-from tgt --num-workers "$(nproc)" \
  ${prepare_args[@]+"${prepare_args[@]}"}
echo "[prepare_librispeech] wrote $out (config.yaml, ${split_list//,/.tsv, }.tsv)"
