#!/usr/bin/env bash
# The README's main job: install, build, synthesize a small speech corpus with espeak-ng,
# prepare it as a fairseq layout; then train and decode (see docs/status.md for what is in).
# Everything goes under ./out/quickstart (corpus, data, checkpoints, logs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${TRELLIS_QUICKSTART_DIR:-$root/out/quickstart}
n_utts=${TRELLIS_QUICKSTART_UTTS:-300}

step() { printf '\n==> %s\n' "$*"; }

step "installing Debian packages"
bash scripts/install_deps.sh
step "building"
bash scripts/build.sh
bin=$root/build/bin

step "synthesizing $n_utts utterances with espeak-ng"
bash scripts/make_corpus.sh "$work/corpus" "$n_utts" 1

step "preparing a fairseq layout (fbank80 zip, TSV manifests, vocabulary, config.yaml)"
"$bin/prepare" --input-format dir --input "$work/corpus" --output-dir "$work/data" \
  --splits train:0.8,dev:0.1,test:0.1 --vocab-type char --features fbank80 --cmvn utterance \
  --num-workers "$(nproc)"
ls -l "$work/data"

step "done: corpus and data are ready in $work"
echo "Training and decoding join this script as the speech task, the conformer model and the"
echo "trainer land (docs/status.md); 'build/bin/train --help' lists what is registered today."
