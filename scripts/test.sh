#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
start=$(date +%s)
ctest --test-dir build --output-on-failure -j "${TRELLIS_JOBS:-$(nproc)}" "$@"
echo "[test] ctest done in $(( $(date +%s) - start )) s"
