#!/usr/bin/env bash
# wav2vec 2.0 base pretraining from scratch: fairseq's wav2vec2_base_librispeech config in
# trellis flags (docs/ssl.md, "wav2vec 2.0 pretraining"): --arch wav2vec2_base (768 dim, 12
# layers, final_dim 256, 2 x 320 codewords, 100 negatives, mask 0.65 x 10, feature gradient x
# 0.1, layer drop 0.05), --criterion wav2vec with --loss-weights '[0.1, 10]', Adam (0.9, 0.98)
# eps 1e-6, weight decay 0.01, polynomial decay after a linear warm-up, crops of 32k..250k
# samples. fairseq trains 400k updates on 64 GPUs x 1.4M samples; the defaults below are that
# recipe's shape at a small scale for one machine: scale MAX_TOKENS x UPDATE_FREQ x processes
# towards 89.6M samples per update and MAX_UPDATE towards 400k for the real thing.
# Usage: DATA_ROOT=DIR SAVE_DIR=DIR examples/wav2vec2/pretrain_base.sh [more train flags...]
#   DATA_ROOT      holds TRAIN_SUBSET and VALID_SUBSET as wav2vec manifests (NAME.tsv: the audio
#                  root on the first line, then path<TAB>n_samples; fairseq's
#                  wav2vec_manifest.py writes them), NeMo JSON (NAME.json) or folders (NAME/)
#   SAVE_DIR       checkpoints and logs; a relaunch resumes from here
#   MAX_TOKENS (1400000 samples per micro-batch, fairseq's), UPDATE_FREQ (1), MAX_UPDATE
#   (400000), WARMUP_UPDATES (32000), LR (5e-4), MAX_SAMPLE_SIZE (250000), MIN_SAMPLE_SIZE
#   (32000), TRAIN_SUBSET (train), VALID_SUBSET (valid), NUM_WORKERS (2), WORLD_SIZE (1: with N >
#   1, N processes on this machine), TRELLIS_BIN (build/bin of this checkout)
# Flags after the script's name are appended: a later flag wins (e.g. a small model:
#   --encoder-layers 4 --encoder-embed-dim 256 --encoder-ffn-embed-dim 1024
#   --encoder-attention-heads 4).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRELLIS_BIN:-$root/build/bin}
: "${DATA_ROOT:?set DATA_ROOT to the folder with the unlabelled manifests}"
: "${SAVE_DIR:?set SAVE_DIR to the checkpoint folder}"

cmd=("$bin/train" "$DATA_ROOT" --task audio_pretraining
  --train-subset "${TRAIN_SUBSET:-train}" --valid-subset "${VALID_SUBSET:-valid}"
  --max-sample-size "${MAX_SAMPLE_SIZE:-250000}" --min-sample-size "${MIN_SAMPLE_SIZE:-32000}"
  --arch wav2vec2_base
  --criterion wav2vec --infonce --loss-weights '[0.1, 10]'
  --log-keys '["prob_perplexity","code_perplexity","temp"]'
  --optimizer adam --adam-betas '(0.9, 0.98)' --adam-eps 1e-06 --weight-decay 0.01
  --lr "${LR:-5e-04}" --lr-scheduler polynomial_decay
  --warmup-updates "${WARMUP_UPDATES:-32000}" --total-num-update "${MAX_UPDATE:-400000}"
  --max-update "${MAX_UPDATE:-400000}" --max-tokens "${MAX_TOKENS:-1400000}"
  --update-freq "${UPDATE_FREQ:-1}" --required-batch-size-multiple 1
  --skip-invalid-size-inputs-valid-test
  --distributed-world-size "${WORLD_SIZE:-1}"
  --save-interval-updates 25000 --keep-interval-updates 2 --no-epoch-checkpoints
  --save-dir "$SAVE_DIR" --num-workers "${NUM_WORKERS:-2}" --seed 1
  --log-format simple --log-interval 200 "$@")
printf '+'; printf ' %q' "${cmd[@]}"; echo  # the command, copy-pastable
exec "${cmd[@]}"
