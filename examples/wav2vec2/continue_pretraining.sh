#!/usr/bin/env bash
# Continued wav2vec 2.0 pretraining (docs/ssl.md, "Continued pretraining and fine-tuning"): a
# published model (e.g. TencentGameMate/chinese-wav2vec2-large, facebook/wav2vec2-large-lv60 or
# wav2vec2-base) keeps pretraining on your own unlabelled in-domain audio before fine-tuning.
# --w2v-path loads the body and, when the file has them, the quantizer, project_q and
# project_hid/final_proj (else they start new: logged). The flags are the large LV-60 recipe's
# (--normalize, no dropouts, --loss-weights '[0.1, 0]') with a short warm-up to a low peak rate,
# since the model is already trained, and the Gumbel temperature held at the value the published
# run ended with (a fresh run counts updates from 0, so the schedule would restart at 2.0); for a
# base model set ARCH=wav2vec2_base NORMALIZE=0 LOSS_WEIGHTS='[0.1, 10]' LATENT_TEMP='(0.5,0.5,1)'.
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR W2V_PATH=FILE examples/wav2vec2/continue_pretraining.sh [flags]
#   DATA_ROOT      unlabelled manifests or folders (TRAIN_SUBSET, VALID_SUBSET; as pretrain_base.sh)
#   W2V_PATH       model.safetensors / pytorch_model.bin (Hugging Face Wav2Vec2ForPreTraining or
#                  Wav2Vec2Model), a fairseq pretraining .pt, or a trellis checkpoint; read only
#                  when SAVE_DIR has no checkpoint yet (a relaunch resumes)
#   ARCH (wav2vec2_large_lv60), NORMALIZE (1), LOSS_WEIGHTS ('[0.1, 0]'), LATENT_TEMP
#   ('(0.1,0.1,1)': large's final temperature, constant), LR (5e-5),
#   WARMUP_UPDATES (1000), MAX_UPDATE (20000), MAX_TOKENS (1200000), UPDATE_FREQ (1),
#   MAX_SAMPLE_SIZE (320000), MIN_SAMPLE_SIZE (32000), TRAIN_SUBSET (train), VALID_SUBSET
#   (valid), NUM_WORKERS (2), TRELLIS_BIN (build/bin of this checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the folder with the unlabelled manifests}"
: "${SAVE_DIR:?set SAVE_DIR to the checkpoint folder}"
: "${W2V_PATH:?set W2V_PATH to the published model file}"
normalize=()
if [ "${NORMALIZE:-1}" = 1 ]; then normalize=(--normalize); fi

cmd=("$bin/train" "$DATA_ROOT" --task audio_pretraining
  --train-subset "${TRAIN_SUBSET:-train}" --valid-subset "${VALID_SUBSET:-valid}"
  --max-sample-size "${MAX_SAMPLE_SIZE:-320000}" --min-sample-size "${MIN_SAMPLE_SIZE:-32000}"
  ${normalize[@]+"${normalize[@]}"}
  --arch "${ARCH:-wav2vec2_large_lv60}" --w2v-path "$W2V_PATH"
  --latent-temp "${LATENT_TEMP:-(0.1,0.1,1)}"
  --criterion wav2vec --infonce --loss-weights "${LOSS_WEIGHTS:-[0.1, 0]}"
  --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-06 --weight-decay 0.01
  --lr "${LR:-5e-05}" --lr-scheduler polynomial_decay
  --warmup-updates "${WARMUP_UPDATES:-1000}" --total-num-update "${MAX_UPDATE:-20000}"
  --max-update "${MAX_UPDATE:-20000}" --max-tokens "${MAX_TOKENS:-1200000}"
  --update-freq "${UPDATE_FREQ:-1}" --required-batch-size-multiple 1
  --skip-invalid-size-inputs-valid-test
  --save-interval-updates 2000 --keep-interval-updates 2 --no-epoch-checkpoints
  --save-dir "$SAVE_DIR" --num-workers "${NUM_WORKERS:-2}" --seed 1
  --log-format simple --log-interval 100 "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
