#!/usr/bin/env bash
# CTC fine-tuning of a Fast Conformer whose encoder comes from a NEST pretraining checkpoint
# (trellis's checkpoint_*.pt, or NeMo's own .nemo / model_weights.ckpt): the encoder is copied,
# the NEST decoder, quantizer and mask embedding are dropped, a new CTC head is trained
# (docs/ssl.md, "Fine-tuning").
#
#   examples/ssl/nest_finetune.sh DATA PRETRAINED SAVE_DIR [more train flags]
#
# DATA is a `prepare`d speech folder whose config.yaml says `front_end: nemo_mel` and whose
# manifests point at audio (the features must be the ones the encoder was pretrained on).
# Environment: ARCH (fastconformer_ctc_small: the same encoder sizes as the pretraining arch),
# LR (1e-3), WARMUP (500), MAX_TOKENS (8000), MAX_UPDATE (5000), FREEZE (0: updates during which
# only the CTC head learns), WORKERS (2). Without PRETRAINED (""), the same model starts from
# random weights (the from-scratch baseline).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${1:?usage: nest_finetune.sh DATA PRETRAINED SAVE_DIR [train flags]}
pretrained=${2?usage: nest_finetune.sh DATA PRETRAINED SAVE_DIR [train flags]}
save=${3:?usage: nest_finetune.sh DATA PRETRAINED SAVE_DIR [train flags]}
shift 3
bin=${TRELLIS_BIN:-$root/build/bin}
init=()
[ -n "$pretrained" ] && init=(--w2v-path "$pretrained" --freeze-finetune-updates "${FREEZE:-0}")
exec "$bin/train" "$data" --task speech_to_text --arch "${ARCH:-fastconformer_ctc_small}" \
  --criterion ctc --zero-infinity --post-process sentencepiece \
  --optimizer adamw --adam-betas '(0.9, 0.98)' --weight-decay 1e-3 \
  --lr "${LR:-1e-3}" --lr-scheduler inverse_sqrt --warmup-updates "${WARMUP:-500}" --clip-norm 1.0 \
  --max-tokens "${MAX_TOKENS:-8000}" --max-update "${MAX_UPDATE:-5000}" \
  --valid-subset dev --best-checkpoint-metric wer --save-dir "$save" --no-epoch-checkpoints \
  --num-workers "${WORKERS:-2}" "${init[@]}" "$@"
