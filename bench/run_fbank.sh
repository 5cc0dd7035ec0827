#!/usr/bin/env bash
# Side-by-side front-end benchmark, one thread each, same audio: the Python reference
# (../shared/bench/ref_fbank.py: torchaudio.compliance.kaldi.fbank + soundfile, run as is) writes
# its utterances into a work dir, then build/bin/bench_fbank reads those very files. Prints both
# reports and the trellis / reference ratios.
#
#   bench/run_fbank.sh                     # 10 minutes of espeak-ng speech, 5 repeats
#   MINUTES=2 REPEATS=3 bench/run_fbank.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ref=${REF_FBANK:-$root/../shared/bench/ref_fbank.py}
bin=${BENCH_FBANK:-$root/build/bin/bench_fbank}
minutes=${MINUTES:-10}
repeats=${REPEATS:-5}
work=$(mktemp -d /tmp/trellis_fbank_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Same BLAS and thread pinning for both sides (../shared/bench/README.md).
export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

echo "== reference: $ref (load $(cut -d' ' -f1 /proc/loadavg))"
ref_out=$("${pin[@]}" /usr/bin/python3 "$ref" --minutes "$minutes" --threads 1 --repeats "$repeats" \
  --workdir "$work")
echo "$ref_out"
echo "== trellis: $bin"
ours_out=$("${pin[@]}" "$bin" --dir "$work" --repeats "$repeats")
echo "$ours_out"

# "name : N s audio per CPU-s" -> N for the row starting with $2.
rate() { grep "^$2" <<<"$1" | sed -E 's/.*: +([0-9]+) s audio per CPU-s.*/\1/' | head -1; }
echo "== ratio trellis / reference (seconds of audio per CPU-second, 1 thread)"
for row in "fbank 80-bin" "read wav" "read flac (" "read flac + fbank"; do
  r=$(rate "$ref_out" "$row")
  o=$(rate "$ours_out" "$row")
  if [[ -n "$r" && -n "$o" ]]; then
    awk -v n="$row" -v r="$r" -v o="$o" 'BEGIN { printf "%-20s %9d vs %9d s/s: %.1fx\n", n, o, r, o / r }'
  fi
done
