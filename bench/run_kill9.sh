#!/usr/bin/env bash
# Crash consistency under kill -9 (docs/reliability.md, "kill -9"): trains a tiny conformer CTC
# model (1 thread, a validation and checkpoint after every update) on the test corpus of the
# integration tests, runs it once uninterrupted, then kills `train` with SIGKILL at POINTS
# random moments (a random delay from the launch, the start of the n-th checkpoint file write,
# a random delay after an update: start-up, steps, validation, checkpoint writes), relaunching
# the same command each time until it finishes; the final model, optimizer state, RNG and data
# position must equal the uninterrupted run's bit for bit, with no temporary file left and
# every metrics.jsonl line whole. It runs the [kill9] test case of build/bin/trellis_tests
# (tests/integration/test_kill9.cpp), which CI runs with 3 points.
#
#   bench/run_kill9.sh                     # 20 points, a random seed
#   POINTS=40 SEED=7 bench/run_kill9.sh
#   EXTRA="--update-freq 2 --lr-scheduler reduce_lr_on_plateau" bench/run_kill9.sh
# Prints where the kills landed, e.g. "kill -9 at 20 points (...): 8 in a checkpoint write; ...".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tests=${TRELLIS_TESTS:-$root/build/bin/trellis_tests}
points=${POINTS:-20}
seed=${SEED:-$RANDOM}
echo "[run_kill9] $points points, seed $seed${UPDATES:+, --max-update $UPDATES}${EXTRA:+, extra flags: $EXTRA}"
TRELLIS_KILL9_POINTS=$points TRELLIS_KILL9_SEED=$seed TRELLIS_KILL9_UPDATES=${UPDATES:-} \
  TRELLIS_KILL9_EXTRA=${EXTRA:-} nice "$tests" "[kill9]" 2>&1 |
  grep -v '^  with expansion' | grep -v '^$'
