#!/usr/bin/env bash
# Seed command 2 (README.md, section 4): fine-tuning, FBK's recipe. The pre-trained
# checkpoint (usually an average of the last ones, see README.md) is copied into SAVE_DIR as
# checkpoint_last.pt, then the pre-training flags run with --lr 1e-3 --lr-scheduler fixed, no
# --warmup-updates, and --reset-lr-scheduler --reset-optimizer --reset-dataloader.
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR PRETRAINED=FILE.pt [TRAIN_SUBSET=..] [VALID_SUBSET=..] \
#          [CONFIG_YAML=..] examples/speech_to_text/finetune.sh [more train flags...]
#   PRETRAINED  the checkpoint to start from; copied only when SAVE_DIR has no
#               checkpoint_last.pt yet. A relaunch resumes the fine-tuning job's own
#               checkpoint_last.pt and applies no reset again (docs/migrating.md).
#   the other variables and the appended flags: as in pretrain.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the prepared data folder}"
: "${SAVE_DIR:?set SAVE_DIR to the fine-tuning checkpoint folder}"
TRAIN_SUBSET=${TRAIN_SUBSET:-train_st}
VALID_SUBSET=${VALID_SUBSET:-dev_st}
CONFIG_YAML=${CONFIG_YAML:-config_st.yaml}

if [ ! -e "$SAVE_DIR/checkpoint_last.pt" ]; then
  : "${PRETRAINED:?set PRETRAINED to the pre-trained checkpoint (SAVE_DIR has no checkpoint_last.pt)}"
  [ -f "$PRETRAINED" ] || { echo "finetune.sh: PRETRAINED=$PRETRAINED: no such file" >&2; exit 1; }
  mkdir -p "$SAVE_DIR"
  cp "$PRETRAINED" "$SAVE_DIR/checkpoint_last.pt"
  echo "finetune.sh: copied $PRETRAINED to $SAVE_DIR/checkpoint_last.pt"
fi

cmd=("$bin/train" "$DATA_ROOT" --train-subset "$TRAIN_SUBSET" --valid-subset "$VALID_SUBSET"
  --save-dir "$SAVE_DIR" --ignore-prefix-size 1 --num-workers 5 --max-update 200000
  --patience 30 --save-interval-updates 1000 --max-tokens 40000 --adam-betas '(0.9, 0.98)'
  --user-dir examples/speech_to_text --task speech_to_text_ctc --config-yaml "$CONFIG_YAML"
  --criterion ctc_multi_loss --underlying-criterion label_smoothed_cross_entropy
  --label-smoothing 0.1 --arch conformer --ctc-encoder-layer 8 --ctc-weight 0.5
  --ctc-compress-strategy avg --optimizer adam --lr 1e-3 --lr-scheduler fixed
  --clip-norm 10.0 --seed 1 --update-freq 2 --skip-invalid-size-inputs-valid-test
  --log-format simple --reset-lr-scheduler --reset-optimizer --reset-dataloader "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
