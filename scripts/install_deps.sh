#!/usr/bin/env bash
# Installs every Debian package trellis needs to build, test and run its quickstart.
# Idempotent: safe to run again; it also selects OpenBLAS as the system BLAS (Debian's
# LibTorch calls whatever libblas.so.3 the alternatives system points to).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev
  libcli11-dev libyaml-cpp-dev libtomlplusplus-dev libfmt-dev nlohmann-json3-dev catch2
  libfftw3-dev libsndfile1-dev libsoxr-dev libsentencepiece-dev libarchive-dev
  libopenblas0-openmp
  espeak-ng sox procps
  irstlm  # tests: builds ARPA n-gram models and scores them (tools in /usr/lib/irstlm/bin)
  python3-torch python3-torchaudio libblas3  # tests: torch.load, goldens, reference BLAS
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install_deps] installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "[install_deps] all packages present"
fi

# Select OpenBLAS (OpenMP flavour) for libblas.so.3 / liblapack.so.3 (reference BLAS is ~30x slower).
arch_dir=/usr/lib/x86_64-linux-gnu
[ -d "$arch_dir" ] || arch_dir=$(dirname "$(ldconfig -p | awk '/libc.so.6/{print $NF; exit}')")
for lib in blas lapack; do
  cand="$arch_dir/openblas-openmp/lib${lib}.so.3"
  if [ -e "$cand" ]; then
    $SUDO update-alternatives --set "lib${lib}.so.3-$(basename "$arch_dir")" "$cand" >/dev/null
  fi
done
echo "[install_deps] libblas.so.3 -> $(readlink -f "$arch_dir/libblas.so.3")"
