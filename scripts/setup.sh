#!/usr/bin/env bash
# Set up a fresh machine for auroraview: Python venv with pinned tools, and the extension
# built in place (release profile: the one profile tests, demo and bench share).
# Idempotent and incremental: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install a Rust toolchain (rustup) first" >&2
  exit 2
fi
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-dev.txt
maturin develop --release --quiet 2>&1 | grep -v "^📦\|^✏️\|^🛠" || true
python -c "import auroraview, sys; print(f'setup: auroraview {auroraview.__version__} ready (Python {sys.version.split()[0]})')"
