#!/usr/bin/env bash
# Synthesizes a small English speech corpus with espeak-ng: N utterances (default 300) of
# sentences from a small seeded grammar, spoken by several voices at several speeds, as 16 kHz
# mono wav files, each with a .txt transcript next to it (prepare --input-format dir).
# Usage: scripts/make_corpus.sh OUT_DIR [N] [SEED]
set -euo pipefail
out=${1:?usage: make_corpus.sh OUT_DIR [N] [SEED]}
n=${2:-300}
seed=${3:-1}
command -v espeak-ng >/dev/null || { echo "espeak-ng missing: run scripts/install_deps.sh" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox missing: run scripts/install_deps.sh" >&2; exit 1; }
mkdir -p "$out"

# One line per utterance: id, voice, speed, pitch, sentence.
awk -v n="$n" -v seed="$seed" 'BEGIN {
  srand(seed);
  split("the a one every this that", det, " ");
  split("red green small big old new quiet loud happy tired bright dark", adj, " ");
  split("cat dog bird fish horse child teacher farmer doctor singer river garden house tree car boat", noun, " ");
  split("sees likes finds helps follows watches calls paints carries visits", verb, " ");
  split("today slowly quickly again at night in the morning near the river", adv, ",");
  split("en-us en-gb en-gb-scotland en-gb-x-rp en-us+f3 en-us+m3 en+f2 en+m4", voice, " ");
  split("130 150 170 190", speed, " ");
  split("35 50 65", pitch, " ");
  for (i = 1; i <= n; i++) {
    s = det[int(rand()*6)+1] " " adj[int(rand()*12)+1] " " noun[int(rand()*16)+1] " " \
        verb[int(rand()*10)+1] " " det[int(rand()*6)+1] " " noun[int(rand()*16)+1];
    if (rand() < 0.5) s = s " " adv[int(rand()*6)+1];
    printf "utt%05d\t%s\t%s\t%s\t%s\n", i, voice[int(rand()*8)+1], speed[int(rand()*4)+1], \
        pitch[int(rand()*3)+1], s;
  }
}' > "$out/utterances.tsv"

made=0
while IFS=$'\t' read -r id voice speed pitch text; do
  if [ ! -s "$out/$id.wav" ]; then
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$out/$id.raw.wav" "$text" 2>/dev/null
    # -D: no dither. sox dithers by default with a fresh random seed in every run, so the same
    # corpus synthesized twice differed in its last bits (docs/reliability.md, "Reproducibility").
    sox -q -D "$out/$id.raw.wav" -r 16000 -c 1 -b 16 "$out/$id.wav"
    rm -f "$out/$id.raw.wav"
  fi
  text=${text%"${text##*[![:space:]]}"}
  printf "%s\n" "$text" > "$out/$id.txt"
  made=$((made + 1))
done < "$out/utterances.tsv"
echo "[make_corpus] $made utterances in $out"
