#!/usr/bin/env bash
# The README's test command: installs the Debian packages, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh
start=$(date +%s)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
ctest --test-dir build --output-on-failure -j "${TRELLIS_JOBS:-$(nproc)}" "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
echo "[test] ctest done in $(( $(date +%s) - start )) s"
# Tests that exited 77 (tests/skip.h: a tool or the hardware they need is missing), with the
# reason each printed ("SKIPPED: ..." in build/Testing/Temporary/LastTest.log).
skipped=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$out")
if [ -n "$skipped" ]; then
  echo "[test] $(printf '%s\n' "$skipped" | wc -l) skipped, not passed:"
  while IFS= read -r name; do
    why=$(n="$name" awk '/^[0-9]+\/[0-9]+ Test: /{sub(/^[0-9]+\/[0-9]+ Test: /, ""); t = $0}
      /^SKIPPED: / && t == ENVIRON["n"] {sub(/^SKIPPED: /, ""); print; exit}' \
      build/Testing/Temporary/LastTest.log 2>/dev/null)
    echo "[test]   ${name}${why:+ ($why)}"
  done <<< "$skipped"
fi
exit "$rc"
