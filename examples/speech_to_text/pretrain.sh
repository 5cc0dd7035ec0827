#!/usr/bin/env bash
# Seed command 1 (README.md, section 2): pre-training of FBK's conformer for speech
# translation with the CTC multi-loss (CTC on the 8th encoder layer against the transcript,
# label-smoothed cross entropy on the decoder), the flags exactly as in the seed with
# `python train.py` replaced by build/bin/train.
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR [TRAIN_SUBSET=a,b] [VALID_SUBSET=dev] [CONFIG_YAML=f.yaml] \
#          examples/speech_to_text/pretrain.sh [more train flags...]
#   DATA_ROOT     a prepared data folder (prepare_mustc.sh, prepare_librispeech.sh or `prepare`)
#   SAVE_DIR      checkpoints, config.yaml, metrics.jsonl (a relaunch resumes from here)
#   TRAIN_SUBSET  comma-separated training splits, each named train* (default train_st; the seed
#                 used train_mustc,train_europarl)
#   VALID_SUBSET  validation split(s); the first drives the best checkpoint and patience
#                 (default dev_st; the seed used dev_mustc2)
#   CONFIG_YAML   data config in DATA_ROOT (default config_st.yaml, as in the seed)
#   TRELLIS_BIN   folder of the trellis executables (default: build/bin of this checkout)
# Flags given after the script's name are appended: a later flag wins (e.g. --max-update 100,
# or --ignore-prefix-size 0 for ASR data without a language tag).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the prepared data folder}"
: "${SAVE_DIR:?set SAVE_DIR to the checkpoint folder}"
TRAIN_SUBSET=${TRAIN_SUBSET:-train_st}
VALID_SUBSET=${VALID_SUBSET:-dev_st}
CONFIG_YAML=${CONFIG_YAML:-config_st.yaml}

cmd=("$bin/train" "$DATA_ROOT" --train-subset "$TRAIN_SUBSET" --valid-subset "$VALID_SUBSET"
  --save-dir "$SAVE_DIR" --ignore-prefix-size 1 --num-workers 5 --max-update 200000
  --patience 30 --save-interval-updates 1000 --max-tokens 40000 --adam-betas '(0.9, 0.98)'
  --user-dir examples/speech_to_text --task speech_to_text_ctc --config-yaml "$CONFIG_YAML"
  --criterion ctc_multi_loss --underlying-criterion label_smoothed_cross_entropy
  --label-smoothing 0.1 --arch conformer --ctc-encoder-layer 8 --ctc-weight 0.5
  --ctc-compress-strategy avg --optimizer adam --lr 2e-3 --lr-scheduler inverse_sqrt
  --warmup-updates 25000 --clip-norm 10.0 --seed 1 --update-freq 2
  --skip-invalid-size-inputs-valid-test --log-format simple "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
