#!/usr/bin/env bash
# Seed situation 2: CTC fine-tuning of facebook/wav2vec2-base-960h (--arch wav2vec2_ctc_base)
# on Common Voice mp3s with a character vocabulary (`|` between words), the Hugging Face
# Trainer recipe in trellis flags: frozen feature encoder, gradient checkpointing, AdamW with a
# linear schedule after a warm-up, evaluation and saving every VALID_INTERVAL updates, the
# last 2 interval checkpoints kept, early stopping after 3 evaluations without a better WER.
# Batches group utterances of similar length (the --max-tokens batcher sorts by length).
# See examples/wav2vec2/README.md for the data (prepare --input-format commonvoice).
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR [W2V_PATH=FILE] \
#          examples/wav2vec2/finetune_base_commonvoice.sh [more train flags...]
#   DATA_ROOT      a folder written by `prepare --features raw --vocab-type char`
#   SAVE_DIR       checkpoints, config.yaml, metrics.jsonl; a relaunch resumes from here (and
#                  then W2V_PATH is not read again)
#   W2V_PATH       the pretrained weights: wav2vec2-base-960h's model.safetensors (or
#                  pytorch_model.bin, or the folder holding it, or a fairseq .pt); unset =
#                  random initialisation. Its 32-letter CTC head is replaced by a new one
#                  unless the prepared vocabulary has the same size.
#   LR (1e-4), WEIGHT_DECAY (0.005), WARMUP_UPDATES (500), MAX_UPDATE (20000: the linear decay
#   reaches 0 there), MAX_EPOCH (30), VALID_INTERVAL (500: evaluate and save every N updates),
#   KEEP (2), PATIENCE (3), MAX_TOKENS (1600000 samples = 100 s of audio per micro-batch),
#   UPDATE_FREQ (1), TRAIN_SUBSET (train), VALID_SUBSET (dev), NUM_WORKERS (2),
#   TRELLIS_BIN (build/bin of this checkout)
# Flags given after the script's name are appended: a later flag wins (e.g. --max-update 100).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the prepared data folder (prepare --features raw)}"
: "${SAVE_DIR:?set SAVE_DIR to the checkpoint folder}"
pretrained=()
if [ -n "${W2V_PATH:-}" ]; then
  pretrained=(--w2v-path "$W2V_PATH")
elif [ ! -e "$SAVE_DIR/checkpoint_last.pt" ]; then
  echo "finetune_base_commonvoice.sh: W2V_PATH is not set: the model starts from random weights" >&2
fi
interval=${VALID_INTERVAL:-500}

cmd=("$bin/train" "$DATA_ROOT" --task speech_to_text_ctc
  --train-subset "${TRAIN_SUBSET:-train}" --valid-subset "${VALID_SUBSET:-dev}"
  --arch wav2vec2_ctc_base ${pretrained[@]+"${pretrained[@]}"}
  --max-source-positions 480000 --skip-invalid-size-inputs-valid-test
  --freeze-feature-encoder --checkpoint-activations
  --mask-prob 0.05 --layerdrop 0.1 --dropout 0.1 --attention-dropout 0.1 --dropout-input 0
  --criterion ctc --zero-infinity --post-process letter
  --optimizer adamw --adam-betas '(0.9, 0.999)' --adam-eps 1e-08
  --weight-decay "${WEIGHT_DECAY:-0.005}" --lr "${LR:-1e-04}"
  --lr-scheduler polynomial_decay --power 1 --end-learning-rate 0
  --warmup-updates "${WARMUP_UPDATES:-500}"
  --max-update "${MAX_UPDATE:-20000}" --max-epoch "${MAX_EPOCH:-30}"
  --max-tokens "${MAX_TOKENS:-1600000}" --update-freq "${UPDATE_FREQ:-1}" --clip-norm 1.0
  --validate-interval-updates "$interval" --save-interval-updates "$interval"
  --keep-interval-updates "${KEEP:-2}" --no-epoch-checkpoints
  --best-checkpoint-metric wer --patience "${PATIENCE:-3}"
  --save-dir "$SAVE_DIR" --num-workers "${NUM_WORKERS:-2}" --seed 1
  --log-format simple --log-interval 100 "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
