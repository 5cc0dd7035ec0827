#!/usr/bin/env bash
# The README's main job: install, build, synthesize a small speech corpus with espeak-ng,
# prepare it as a fairseq layout, train a small conformer CTC model, decode the test split with
# generate, print its WER, plot the training curves and say where everything is.
# Usage: bash scripts/quickstart.sh
# Everything goes under ./out/quickstart (corpus, data, checkpoints, logs, plots); running it
# again resumes the training (it stops at once when --max-update was reached).
# Environment (all optional):
#   TRELLIS_QUICKSTART_DIR         output folder (default ./out/quickstart)
#   TRELLIS_QUICKSTART_UTTS        utterances to synthesize (300)
#   TRELLIS_QUICKSTART_UPDATES     training updates (600)
#   TRELLIS_QUICKSTART_TRAIN_ARGS  extra train flags (split on whitespace), appended (later
#                                  flags win), e.g. a smaller model for a reduced run:
#                                  "--encoder-layers 1 --encoder-embed-dim 32 ..."
#   TRELLIS_QUICKSTART_SKIP_SETUP  1: skip install_deps.sh and build.sh, use the executables
#                                  already built in $TRELLIS_BUILD_DIR/bin
#   TRELLIS_BUILD_DIR              the build folder (default ./build)
# tests/integration/test_quickstart.cpp runs a reduced mode (40 utterances, 30 updates, a tiny
# model) of this script end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=${TRELLIS_QUICKSTART_DIR:-$root/out/quickstart}
n_utts=${TRELLIS_QUICKSTART_UTTS:-300}
max_update=${TRELLIS_QUICKSTART_UPDATES:-600}
read -r -a extra_args <<< "${TRELLIS_QUICKSTART_TRAIN_ARGS:-}"
bin=${TRELLIS_BUILD_DIR:-$root/build}/bin

step() { printf '\n==> %s\n' "$*"; }

if [ "${TRELLIS_QUICKSTART_SKIP_SETUP:-0}" = 1 ]; then
  step "TRELLIS_QUICKSTART_SKIP_SETUP=1: using the executables in $bin"
  for exe in prepare train generate plot; do
    [ -x "$bin/$exe" ] || { echo "$bin/$exe missing: build first (scripts/build.sh)" >&2; exit 1; }
  done
else
  step "installing Debian packages"
  bash scripts/install_deps.sh
  step "building"
  bash scripts/build.sh
  bin=$root/build/bin
fi

step "synthesizing $n_utts utterances with espeak-ng"
bash scripts/make_corpus.sh "$work/corpus" "$n_utts" 1

step "what the result depends on (docs/reliability.md, \"Reproducibility\"; also in $work/provenance.txt)"
# The WER of this run moves with each of these: the corpus (espeak-ng and its voices, sox, and
# awk's random numbers choose the sentences), the compute threads and the CPU kernels of OpenBLAS
# and LibTorch (both picked by CPU), and the code. The train log adds the threads and BLAS kernels.
{
  echo "trellis commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
  echo "espeak-ng:       $(espeak-ng --version 2>/dev/null | head -1)"
  echo "sox:             $(sox --version 2>/dev/null | head -1)"
  echo "awk:             $(readlink -f "$(command -v awk)") ($(awk -W version 2>/dev/null | head -1))"
  echo "corpus checksum: $(cd "$work/corpus" && LC_ALL=C ls | grep -E '\.(wav|txt)$' | LC_ALL=C sort | xargs cat | md5sum | cut -d' ' -f1) ($n_utts utterances, seed 1)"
  echo "CPU:             $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(nproc) cores available; AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
  echo "threads:         ${OMP_NUM_THREADS:-(all available cores; set OMP_NUM_THREADS or --threads to fix)}; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(chosen by OpenBLAS/trellis for this CPU)}"
} | tee "$work/provenance.txt"

step "preparing a fairseq layout (fbank80 zip, TSV manifests, vocabulary, config.yaml)"
"$bin/prepare" --input-format dir --input "$work/corpus" --output-dir "$work/data" \
  --splits train:0.8,dev:0.1,test:0.1 --vocab-type char --features fbank80 --cmvn utterance \
  --num-workers "$(nproc)"
ls -l "$work/data"

step "training a small conformer CTC model on the CPU ($max_update updates, a few minutes)"
# Validation greedy-decodes dev and test every 5 epochs (wer, uer); the best dev WER is kept.
"$bin/train" "$work/data" --task speech_to_text_ctc --arch conformer_ctc --criterion ctc \
  --optimizer adam --lr 2e-3 --adam-betas '(0.9, 0.98)' --lr-scheduler inverse_sqrt \
  --warmup-updates 150 --clip-norm 10 --max-tokens 8000 --max-update "$max_update" \
  --encoder-layers 4 --encoder-embed-dim 144 --encoder-attention-heads 4 \
  --encoder-ffn-embed-dim 576 --conv-channels 256 --conformer-conv-kernel-size 15 \
  --dropout 0.1 --valid-subset dev,test --best-checkpoint-metric wer --validate-interval 5 \
  --save-dir "$work/checkpoints" --no-epoch-checkpoints --log-interval 50 \
  --log-file "$work/train.log" ${extra_args[@]+"${extra_args[@]}"}

step "decoding the test split with build/bin/generate (CTC prefix beam search, beam 5)"
"$bin/generate" "$work/data" --gen-subset test --path "$work/checkpoints/checkpoint_best.pt" \
  --beam 5 --scoring wer --results-path "$work/decode"
result=$(tail -1 "$work/decode/generate-test.txt")

step "plotting the training curves (loss, WER, learning rate) from metrics.jsonl"
"$bin/plot" "$work/checkpoints" -o "$work/plots/training_curves.svg" \
  --title "quickstart: conformer CTC on $n_utts espeak-ng utterances"

step "done"
grep -m1 -o 'compute threads: .*' "$work/train.log" | sed 's/^/train: /' | tee -a "$work/provenance.txt" || true
echo "$result"
echo "checkpoints: $work/checkpoints/checkpoint_best.pt (best dev WER), checkpoint_last.pt"
echo "hypotheses:  $work/decode/generate-test.txt (T-/H-/D- lines, as fairseq-generate)"
echo "provenance:  $work/provenance.txt (what the WER depends on: compare it across machines)"
echo "logs:        $work/train.log (training log), $work/checkpoints/metrics.jsonl (one JSON per line)"
echo "plots:       $work/plots/training_curves.svg (open it in a browser)"
