#!/usr/bin/env bash
# A word-level target vocabulary for a prepared data folder: every whitespace-separated token
# of the training transcripts is one CTC unit. For pinyin transcripts ("ni3 hao3 shi4 jie4")
# the units are the (tonal) syllables. `prepare` itself makes characters or SentencePiece
# pieces (--vocab-type char|unigram|bpe); SentencePiece cuts syllables into pieces, hence this.
# Writes, next to the data:
#   DATA_ROOT/dict_syllables.txt    fairseq dictionary "<token> <count>", most frequent first
#                                   (ties in byte order); <s> <pad> </s> <unk> are implicit
#   DATA_ROOT/config_syllables.yaml the data config CONFIG_YAML with vocab_filename:
#                                   dict_syllables.txt and no bpe_tokenizer (targets are split
#                                   on whitespace and looked up; an unknown token is <unk>)
# Train with --config-yaml config_syllables.yaml --post-process none (finetune_large_pinyin.sh
# does by default); `generate` needs the same --config-yaml.
# Usage: examples/wav2vec2/make_syllable_vocab.sh DATA_ROOT
# Environment:
#   TRAIN_SUBSET  comma-separated splits whose tgt_text makes the vocabulary (default train);
#                 add dev/test splits (train,dev) to cover every syllable they use
#   CONFIG_YAML   the data config written by prepare to start from (default config.yaml)
#   NAME          file names dict_NAME.txt / config_NAME.yaml (default syllables)
set -euo pipefail
usage="usage: make_syllable_vocab.sh DATA_ROOT"
data=${1:?$usage}
subsets=${TRAIN_SUBSET:-train}
config=${CONFIG_YAML:-config.yaml}
name=${NAME:-syllables}
die() { echo "make_syllable_vocab.sh: $*" >&2; exit 1; }
[ -f "$data/$config" ] || die "$data/$config: missing (run prepare first)"

tables=()
IFS=, read -r -a splits <<< "$subsets"
for s in "${splits[@]}"; do
  [ -f "$data/$s.tsv" ] || die "$data/$s.tsv: missing"
  tables+=("$data/$s.tsv")
done

# tgt_text column of each manifest (found by its header name), counted token by token.
tmp=$data/dict_$name.txt.tmp
if ! LC_ALL=C awk -F'\t' '
    FNR == 1 { col = 0; for (i = 1; i <= NF; i++) if ($i == "tgt_text") col = i
               if (!col) { print FILENAME ": no tgt_text column" > "/dev/stderr"; exit 2 }
               next }
    { n = split($col, w, " ")
      for (j = 1; j <= n; j++) if (w[j] !~ /^<(s|pad|\/s|unk)>$/) count[w[j]]++ }
    END { for (t in count) print t, count[t] }' "${tables[@]}" |
    LC_ALL=C sort -k2,2nr -k1,1 > "$tmp"; then
  rm -f "$tmp"
  die "reading ${tables[*]} failed"
fi
[ -s "$tmp" ] || { rm -f "$tmp"; die "no transcript tokens in ${tables[*]}"; }
mv "$tmp" "$data/dict_$name.txt"

# The data config without the subword tokenizer, pointing at the new dictionary.
grep -v '^bpe_tokenizer:' "$data/$config" |
  sed "s|^vocab_filename:.*|vocab_filename: dict_$name.txt|" > "$data/config_$name.yaml"
grep -q "^vocab_filename: dict_$name.txt" "$data/config_$name.yaml" ||
  echo "vocab_filename: dict_$name.txt" >> "$data/config_$name.yaml"
echo "[make_syllable_vocab] $(wc -l < "$data/dict_$name.txt") units from ${tables[*]}" \
  "-> $data/dict_$name.txt, $data/config_$name.yaml"
