#!/usr/bin/env bash
# Tiny fake LibriSpeech and MuST-C trees, spoken by espeak-ng, for tests/integration/
# test_recipes.cpp (the examples/speech_to_text recipes read them as they read the real ones).
# Usage: tests/integration/make_fake_corpora.sh OUT_DIR
#   OUT_DIR/LibriSpeech/{train-clean-100,dev-clean}/SPK/CH/SPK-CH-UTT.flac + SPK-CH.trans.txt
#   OUT_DIR/MUSTC/en-de/data/{train,dev}/{wav/TALK.wav, txt/SPLIT.{yaml,en,de}}: each talk is
#   0.5 s of silence, then each sentence followed by 0.5 s of silence; the YAML gives each
#   sentence's offset and duration.
set -euo pipefail
out=${1:?usage: make_fake_corpora.sh OUT_DIR}
tmp=$out/tmp
mkdir -p "$tmp"

say() {  # TEXT WAV: 16 kHz mono 16-bit
  espeak-ng -v en-us -s 170 -w "$tmp/say.wav" "$1" 2>/dev/null
  sox -q "$tmp/say.wav" -r 16000 -c 1 -b 16 "$2"
}

librispeech() {  # SPLIT SPEAKER CHAPTER UTT TEXT
  local d=$out/LibriSpeech/$1/$2/$3 id=$2-$3-$4
  mkdir -p "$d"
  say "$5" "$tmp/$id.wav"
  sox -q "$tmp/$id.wav" "$d/$id.flac"
  echo "$id $(echo "$5" | tr '[:lower:]' '[:upper:]')" >> "$d/$2-$3.trans.txt"
}
librispeech train-clean-100 19 198 0000 "the cat sees the dog"
librispeech train-clean-100 19 198 0001 "a small bird sings today"
librispeech train-clean-100 26 495 0000 "my old house is big"
librispeech dev-clean 84 121123 0000 "hello world"
librispeech dev-clean 84 121123 0001 "good morning to you"

mustc_talk() {  # SPLIT TALK "english|german" ...
  local split=$1 talk=$2 d=$out/MUSTC/en-de/data/$1 offset=0.5 k=0 dur
  shift 2
  mkdir -p "$d/wav" "$d/txt"
  sox -q -n -r 16000 -c 1 -b 16 "$tmp/silence.wav" trim 0 0.5
  local parts=("$tmp/silence.wav")
  for pair in "$@"; do
    say "${pair%%|*}" "$tmp/$talk.$k.wav"
    dur=$(soxi -D "$tmp/$talk.$k.wav")
    echo "- {duration: $dur, offset: $offset, rW: 0, uW: 0, speaker_id: spk.$talk, wav: $talk.wav}" \
      >> "$d/txt/$split.yaml"
    echo "${pair%%|*}" >> "$d/txt/$split.en"
    echo "${pair##*|}" >> "$d/txt/$split.de"
    parts+=("$tmp/$talk.$k.wav" "$tmp/silence.wav")
    offset=$(awk -v a="$offset" -v b="$dur" 'BEGIN { printf "%.6f", a + b + 0.5 }')
    k=$((k + 1))
  done
  sox -q "${parts[@]}" "$d/wav/$talk.wav"
}
mustc_talk train ted_1 "the cat sees the dog|die katze sieht den hund" \
  "a small bird sings|ein kleiner vogel singt" "my house is big|mein haus ist gross"
mustc_talk train ted_2 "good morning|guten morgen" "thank you very much|vielen dank"
mustc_talk dev ted_3 "hello world|hallo welt" "the river is quiet|der fluss ist ruhig"
rm -rf "$tmp"
echo "[make_fake_corpora] $out/LibriSpeech $out/MUSTC"
