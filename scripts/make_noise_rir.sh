#!/usr/bin/env bash
# Makes a small local noise set and room-impulse-response set for the waveform augmentation
# transforms (docs/data_formats.md, "Waveform augmentation"), with sox and awk only; never
# downloads anything.
#
#   scripts/make_noise_rir.sh OUT_DIR
#
# Writes, all mono 16 kHz 16-bit wav:
#   OUT_DIR/noise/{white,pink,brown,hum,babble}.wav  3 s each: sox `synth` noises, a 50 Hz hum
#       with harmonics, and a babble-like mix of tremolo-modulated band-passed pink noises;
#   OUT_DIR/rir/rt60_{0.2,0.4,0.8}.wav  simulated impulse responses: an impulse of 0.9 (the
#       direct path, below 16-bit full scale) after 5 ms of silence, then a noise tail decaying by
#       60 dB in RT60 seconds (h[n] = 0.9 * g * r[n] * 10^(-3 n / (RT60 * fs)), r ~ U(-1, 1) from
#       awk's seeded rand, g = 0.3), 1.2 * RT60 long;
#   OUT_DIR/noise.lst, OUT_DIR/rir.lst  one absolute path per line (the `manifest` option).
# The output is the same on every run (fixed seeds).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
command -v sox >/dev/null || { echo "$0: sox is not installed (apt-get install sox)" >&2; exit 1; }
command -v awk >/dev/null || { echo "$0: awk is not installed" >&2; exit 1; }

out=$(mkdir -p "$1" && cd "$1" && pwd)
rate=16000
dur=3
mkdir -p "$out/noise" "$out/rir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fmt=(-r "$rate" -c 1 -b 16 -e signed-integer)
sox -R -n "${fmt[@]}" "$out/noise/white.wav" synth "$dur" whitenoise vol 0.3
sox -R -n "${fmt[@]}" "$out/noise/pink.wav" synth "$dur" pinknoise vol 0.4
sox -R -n "${fmt[@]}" "$out/noise/brown.wav" synth "$dur" brownnoise vol 0.5
sox -R -n "${fmt[@]}" "$out/noise/hum.wav" synth "$dur" sine 50 sine 100 sine 150 remix - vol 0.2
# Babble-like: speech-band pink noises, each amplitude-modulated at a syllable-like rate.
i=0
for spec in "300 2.5" "500 3.7" "800 4.3" "1200 5.1"; do
  set -- $spec
  sox -R -n "${fmt[@]}" "$tmp/b$i.wav" synth "$dur" pinknoise bandpass "$1" 400h \
    tremolo "$2" 90 vol 0.5
  i=$((i + 1))
done
sox -R -m "$tmp"/b*.wav "${fmt[@]}" "$out/noise/babble.wav" norm -6

for rt60 in 0.2 0.4 0.8; do
  awk -v fs="$rate" -v rt="$rt60" 'BEGIN {
    srand(1234);
    delay = int(0.005 * fs); n = int(rt * fs * 1.2);
    for (i = 0; i < delay; i++) printf "0\n";
    printf "0.9\n";
    for (i = 1; i < n; i++) {
      v = 0.27 * (2 * rand() - 1) * exp(-3 * log(10) * i / (rt * fs));
      printf "%.6f\n", v;
    }
  }' > "$tmp/rir.dat"
  # sox reads text samples as a ".dat" file: a header, then "time value" per line.
  awk -v fs="$rate" 'BEGIN { printf "; Sample Rate %d\n; Channels 1\n", fs }
    { printf "%.8f %s\n", (NR - 1) / fs, $1 }' "$tmp/rir.dat" > "$tmp/rir_t.dat"
  sox -R "$tmp/rir_t.dat" -D -b 16 -e signed-integer "$out/rir/rt60_$rt60.wav"
done

ls "$out"/noise/*.wav > "$out/noise.lst"
ls "$out"/rir/*.wav > "$out/rir.lst"
echo "wrote $(wc -l < "$out/noise.lst") noise files and $(wc -l < "$out/rir.lst") RIRs under $out"
