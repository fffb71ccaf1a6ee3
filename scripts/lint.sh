#!/usr/bin/env bash
# Static checks, all run, non-zero exit if any fails:
#   stubtest  python/auroraview/_core.pyi against the built extension (scripts/stubtest-allowlist.txt)
#   pyright   strict types of the package, the examples and tests/python/typing_user_program.py
#   ruff      lint of python/, tests/, examples/, bench/ (formatting is not checked)
# Needs the venv with scripts/requirements-dev.txt and the extension built in place
# (scripts/setup.sh), and Node.js for pyright (its PyPI package bundles pyright's JavaScript).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
# No version check against PyPI on each run.
export PYRIGHT_PYTHON_IGNORE_WARNINGS=1

failed=()
check() {
  local name=$1
  shift
  echo "== $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

check stubtest "$BIN/python" -m mypy.stubtest auroraview._core --allowlist scripts/stubtest-allowlist.txt
if command -v node >/dev/null; then
  check pyright "$BIN/pyright"
else
  # Without Node.js the pyright package would fetch one from outside the package registries.
  echo "== pyright"
  echo "lint: pyright needs Node.js (node) on PATH" >&2
  failed+=(pyright)
fi
check ruff "$BIN/ruff" check python tests examples bench

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint: failed: ${failed[*]}" >&2
  exit 1
fi
echo "lint: stubtest, pyright and ruff passed"
