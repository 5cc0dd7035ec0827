#!/usr/bin/env bash
# NEST self-supervised pretraining of a Fast Conformer on unlabelled audio (docs/ssl.md): NeMo's
# nest_fast-conformer.yaml recipe (masked token prediction with a frozen random-projection
# quantizer, speech/noise mixing, AdamW + Noam) through `train --task masked_token_prediction`.
#
#   examples/ssl/nest_pretrain.sh DATA SAVE_DIR [more train flags]
#
# DATA holds the splits `train` and `dev`, each a folder of audio files, a NeMo JSON manifest
# (train.json) or a TSV with an `audio` column (docs/ssl.md, "Data"); no transcripts needed.
# Environment: ARCH (nest_fastconformer_small), NOISE (a noise folder or manifest, optional),
# MAX_TOKENS (frames per batch, 20000), MAX_UPDATE (500000 as NeMo), WARMUP (25000), LR (5.0:
# Noam's scale; the peak is LR / sqrt(d_model) / sqrt(WARMUP)), D_MODEL (the arch's width),
# WORKERS (2). Later flags override earlier ones, so a small run appends e.g.
# `--encoder-layers 4 --encoder-embed-dim 144 --noam-d-model 144`. NeMo's targets (8192 classes,
# 40-frame blocks) need a long run; for a budget of minutes to hours on a CPU append
# `--num-classes 256 --block-size 16 --mask-prob 0.03 --clip-norm 1.0` (docs/ssl.md,
# "Demonstration": with NeMo's settings a short run learns only the token prior).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:?usage: nest_pretrain.sh DATA SAVE_DIR [train flags]}
save=${2:?usage: nest_pretrain.sh DATA SAVE_DIR [train flags]}
shift 2
bin=${TRELLIS_BIN:-$root/build/bin}
noise=()
[ -n "${NOISE:-}" ] && noise=(--noise-manifest "$NOISE")
exec "$bin/train" "$data" --task masked_token_prediction --arch "${ARCH:-nest_fastconformer_small}" \
  --criterion mlm --optimizer adamw --adam-betas '(0.9, 0.98)' --weight-decay 1e-3 \
  --lr-scheduler noam --lr "${LR:-5.0}" --noam-d-model "${D_MODEL:-176}" \
  --warmup-updates "${WARMUP:-25000}" --min-lr 1e-6 \
  --max-tokens "${MAX_TOKENS:-20000}" --max-update "${MAX_UPDATE:-500000}" \
  --train-subset train --valid-subset dev --best-checkpoint-metric loss \
  --save-dir "$save" --no-epoch-checkpoints --num-workers "${WORKERS:-2}" \
  "${noise[@]}" "$@"
