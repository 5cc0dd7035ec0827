#!/usr/bin/env bash
# Seed situation 1: CTC fine-tuning of a large pretrained wav2vec 2.0 (chinese-wav2vec2-large:
# the LV-60 / XLS-R layout, --arch wav2vec2_ctc_large_lv60) on pinyin or hanzi targets, with
# AdamW, a OneCycle or linear (warm-up + linear decay) schedule, gradient accumulation over 2
# micro-batches, gradient clipping at 5 and validation every VALID_INTERVAL updates. See
# examples/wav2vec2/README.md for the data (several dataset folders, a volume fraction each).
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR [W2V_PATH=FILE] [TARGETS=pinyin|hanzi] [SCHEDULE=..] \
#          examples/wav2vec2/finetune_large_pinyin.sh [more train flags...]
#   DATA_ROOT      a folder written by `prepare --features raw` (README.md, step 1)
#   SAVE_DIR       checkpoints, config.yaml, metrics.jsonl; a relaunch resumes from here (and
#                  then W2V_PATH is not read again)
#   W2V_PATH       the pretrained weights: a Hugging Face pytorch_model.bin / model.safetensors
#                  (or the folder holding it) or a fairseq .pt; unset = random initialisation
#   TARGETS        pinyin (default): syllable units from make_syllable_vocab.sh
#                  (config_syllables.yaml, --post-process none, best checkpoint by WER =
#                  syllable error rate); hanzi: the character vocabulary of
#                  `prepare --vocab-type char` (config.yaml, --post-process letter, best
#                  checkpoint by uer = character error rate)
#   SCHEDULE       onecycle (default: torch's OneCycleLR over --max-update updates, peak LR
#                  at 30%) or linear (WARMUP_UPDATES of linear warm-up, then linear decay to 0
#                  at --max-update: polynomial_decay with power 1)
#   LR (5e-5, the peak), WEIGHT_DECAY (0.01), MAX_UPDATE (20000), WARMUP_UPDATES (2000, linear),
#   VALID_INTERVAL (1000: validate and save every N updates), KEEP (3 interval checkpoints),
#   MAX_TOKENS (1280000 samples = 80 s of 16 kHz audio per micro-batch), UPDATE_FREQ (2),
#   TRAIN_SUBSET (train), VALID_SUBSET (dev), CONFIG_YAML, POST_PROCESS, BEST_METRIC (from
#   TARGETS), NUM_WORKERS (2), TRELLIS_BIN (build/bin of this checkout)
# Flags given after the script's name are appended: a later flag wins (e.g. --max-update 100,
# --freeze-finetune-updates 1000, --feature-grad-mult 0.1 to train the feature encoder too).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the prepared data folder (prepare --features raw)}"
: "${SAVE_DIR:?set SAVE_DIR to the checkpoint folder}"
targets=${TARGETS:-pinyin}
case "$targets" in
  pinyin) config=config_syllables.yaml post=none metric=wer ;;
  hanzi) config=config.yaml post=letter metric=uer ;;
  *) echo "finetune_large_pinyin.sh: TARGETS=$targets: expected pinyin or hanzi" >&2; exit 1 ;;
esac
config=${CONFIG_YAML:-$config}
[ -f "$DATA_ROOT/$config" ] || {
  echo "finetune_large_pinyin.sh: $DATA_ROOT/$config: missing (TARGETS=pinyin needs" \
    "examples/wav2vec2/make_syllable_vocab.sh $DATA_ROOT first)" >&2
  exit 1
}
max_update=${MAX_UPDATE:-20000}
case "${SCHEDULE:-onecycle}" in
  onecycle) schedule=(--lr-scheduler onecycle) ;;
  linear) schedule=(--lr-scheduler polynomial_decay --power 1 --end-learning-rate 0
                    --warmup-updates "${WARMUP_UPDATES:-2000}") ;;
  *) echo "finetune_large_pinyin.sh: SCHEDULE=$SCHEDULE: expected onecycle or linear" >&2; exit 1 ;;
esac
pretrained=()
if [ -n "${W2V_PATH:-}" ]; then
  pretrained=(--w2v-path "$W2V_PATH")
elif [ ! -e "$SAVE_DIR/checkpoint_last.pt" ]; then
  echo "finetune_large_pinyin.sh: W2V_PATH is not set: the model starts from random weights" >&2
fi
interval=${VALID_INTERVAL:-1000}

cmd=("$bin/train" "$DATA_ROOT" --task speech_to_text_ctc --config-yaml "$config"
  --train-subset "${TRAIN_SUBSET:-train}" --valid-subset "${VALID_SUBSET:-dev}"
  --arch wav2vec2_ctc_large_lv60 ${pretrained[@]+"${pretrained[@]}"}
  --max-source-positions 480000 --skip-invalid-size-inputs-valid-test
  --feature-grad-mult 0 --mask-prob 0.5 --mask-channel-prob 0.25 --mask-channel-length 64
  --layerdrop 0.1 --activation-dropout 0.1
  --criterion ctc --zero-infinity --post-process "${POST_PROCESS:-$post}"
  --optimizer adamw --adam-betas '(0.9, 0.98)' --adam-eps 1e-08
  --weight-decay "${WEIGHT_DECAY:-0.01}" --lr "${LR:-5e-05}" "${schedule[@]}"
  --max-update "$max_update" --max-tokens "${MAX_TOKENS:-1280000}"
  --update-freq "${UPDATE_FREQ:-2}" --clip-norm 5
  --validate-interval-updates "$interval" --save-interval-updates "$interval"
  --keep-interval-updates "${KEEP:-3}" --no-epoch-checkpoints
  --best-checkpoint-metric "${BEST_METRIC:-$metric}"
  --save-dir "$SAVE_DIR" --num-workers "${NUM_WORKERS:-2}" --seed 1
  --log-format simple --log-interval 100 "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
