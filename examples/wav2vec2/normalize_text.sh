#!/usr/bin/env bash
# Normalises the transcript column of a tab-separated table (a Common Voice release TSV, or a
# `path<TAB>text` table of your own) before `prepare`, the way the Hugging Face wav2vec2
# fine-tuning recipes do: lower-case, remove , ? . ! - ; : " % ' and the typographic quotes
# “ ” ‘ ’ and U+FFFD, plus the full-width CJK punctuation ， 。 ？ ！ 、 ； ： （ ） 《 》, then
# collapse runs of spaces. Other columns and the header are copied as they are.
# `prepare` itself keeps the text as written (capitals and punctuation become CTC units).
# Usage: examples/wav2vec2/normalize_text.sh IN.tsv OUT.tsv
# Environment:
#   COLUMN     the column to normalise (default: the first of sentence, tgt_text, text,
#              transcript, transcription in the header)
#   KEEP_CASE  1 = do not lower-case
#   REMOVE_SPACES  1 = remove every space (hanzi: no `|` word delimiter between characters)
# Lower-casing is awk's tolower: ASCII letters only with mawk (Debian's default awk); other
# scripts keep their case (use gawk in a UTF-8 locale for more). Quoted CSV is not parsed: give
# a TSV (Common Voice releases are TSV; a CSV export can be given to prepare as it is).
set -euo pipefail
usage="usage: normalize_text.sh IN.tsv OUT.tsv"
in=${1:?$usage}
out=${2:?$usage}
[ -f "$in" ] || { echo "normalize_text.sh: $in: no such file" >&2; exit 1; }
[ "$in" != "$out" ] || { echo "normalize_text.sh: IN and OUT must differ" >&2; exit 1; }
# shellcheck disable=SC1112  # the typographic quotes inside the awk program are meant
awk -F'\t' -v OFS='\t' -v want="${COLUMN:-}" -v keep_case="${KEEP_CASE:-0}" \
    -v no_spaces="${REMOVE_SPACES:-0}" '
  NR == 1 {
    sub(/^\357\273\277/, "")  # UTF-8 BOM
    for (i = 1; i <= NF; i++) {
      name = tolower($i)
      if (want != "" && $i == want) c = i
      if (want == "" && !c && (name == "sentence" || name == "tgt_text" || name == "text" ||
                               name == "transcript" || name == "transcription")) c = i
    }
    if (!c) {
      printf "normalize_text.sh: %s: no %s column in the header\n", FILENAME,
             (want != "" ? want : "sentence/tgt_text/text/transcript/transcription") > "/dev/stderr"
      exit 2
    }
    print
    next
  }
  {
    t = $c
    if (keep_case != "1") t = tolower(t)
    gsub(/[,?.!;:"%\047-]/, "", t)
    gsub(/(“|”|‘|’|�|，|。|？|！|、|；|：|（|）|《|》)/, "", t)
    gsub(/[ ]+/, (no_spaces == "1" ? "" : " "), t)
    sub(/^ /, "", t)
    sub(/ $/, "", t)
    $c = t
    print
  }' "$in" > "$out.tmp" || { rm -f "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
echo "[normalize_text] $(($(wc -l < "$out") - 1)) rows -> $out"
