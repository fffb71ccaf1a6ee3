#!/usr/bin/env bash
# Build the wheel and the sdist into OUT (default dist/). The wheel holds the full extension
# (linking the system's WebKitGTK 4.1 and GTK 3) and, at auroraview/_headless/, the same core
# built without its window part, which the package loads where those libraries are missing
# (python/auroraview/_load.py): codegen, the test client and the server then work there too.
# Both are stripped. Needs scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
quiet() { grep -v "^📦\|^🍹\|^🔗\|^🐍\|^✏️\|^🛠\|^⚠️" || true; }
# A target folder of its own: the wheel's build flags (stripped) differ from the in-place
# build's, and sharing one folder made each rebuild the other (4–5 minutes every time).
export CARGO_TARGET_DIR=target/wheel
.venv/bin/maturin build --release --no-default-features --out "$tmp/headless" --quiet 2>&1 | quiet
.venv/bin/maturin build --release --sdist --out "$tmp/full" --quiet 2>&1 | quiet
.venv/bin/python - "$tmp" <<'PY'
import sys, zipfile
from pathlib import Path
tmp = Path(sys.argv[1])
headless = next((tmp / "headless").glob("auroraview-*.whl"))
so = next(n for n in zipfile.ZipFile(headless).namelist() if n.startswith("auroraview/_core") and n.endswith(".so"))
(tmp / "so").mkdir()
zipfile.ZipFile(headless).extract(so, tmp / "so")
PY
.venv/bin/python -m wheel unpack "$(ls "$tmp"/full/auroraview-*.whl)" -d "$tmp/unpacked" >/dev/null
dir=$(ls -d "$tmp"/unpacked/auroraview-*)
mkdir -p "$dir/auroraview/_headless"
mv "$tmp"/so/auroraview/_core*.so "$dir/auroraview/_headless/"
rm -f "$out"/auroraview-*.whl "$out"/auroraview-*.tar.gz
.venv/bin/python -m wheel pack "$dir" -d "$out" >/dev/null
mv "$tmp"/full/auroraview-*.tar.gz "$out/"
ls "$out"/auroraview-*
