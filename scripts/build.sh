#!/usr/bin/env bash
# Configures and builds trellis in ./build (Release, Ninja, ccache and precompiled headers).
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${TRELLIS_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
start=$(date +%s)
cmake --build build -j "$jobs"
echo "[build] done in $(( $(date +%s) - start )) s"
