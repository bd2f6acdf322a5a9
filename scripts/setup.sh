#!/usr/bin/env bash
# Sets up natiq on a fresh Debian machine: system packages, a virtual
# environment in .venv with the exact versions of requirements.lock, and the
# package itself (editable). Safe to run again: finished steps are skipped.
#
#   bash scripts/setup.sh          # runtime: espeak-ng + Python packages
#   bash scripts/setup.sh --dev    # + test tools and Debian's chromium (browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

apt_packages=(espeak-ng sox rubberband-cli)
[ "$dev" = 1 ] && apt_packages+=(chromium)

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" != 0 ] && sudo_cmd="sudo"
  echo "[setup] installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($python --version)"
  "$python" -m venv .venv
fi

stamp=.venv/.natiq-lock-$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -c1-16)-$dev
if [ ! -f "$stamp" ]; then
  echo "[setup] installing Python packages from requirements.lock (torch 2.11 + torchaudio 2.11; first run takes a few minutes)"
  pip_quiet() {
    # pip's "Location ... is ignored" warnings about this machine's local indexes are noise
    local log; log=$(mktemp)
    if ! .venv/bin/python -m pip install -q "$@" >"$log" 2>&1; then
      grep -v "is ignored" "$log" >&2; rm -f "$log"; return 1
    fi
    grep -v "is ignored" "$log" || true; rm -f "$log"
  }
  pip_quiet -r requirements.lock
  pip_quiet --no-deps -e .
  .venv/bin/python -c "import natiq, torch, torchaudio, pocket_tts, transformers" \
    || { echo "[setup] the Python environment is incomplete; see the pip output above" >&2; exit 1; }
  # librosa compiles its numba kernels on first use (~15 s; DNSMOS features in evaluation)
  # and caches them in the venv: compile them once here, as pip compiles bytecode.
  echo "[setup] compiling librosa's numba kernels"
  .venv/bin/python -c "import numpy, librosa; librosa.feature.melspectrogram(y=numpy.zeros(4000, numpy.float32), sr=16000)"
  rm -f .venv/.natiq-lock-*
  touch "$stamp"
fi
echo "[setup] ready: .venv/bin/natiq"
