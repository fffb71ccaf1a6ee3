#!/usr/bin/env bash
# Run every test from a fresh machine: set-up, Rust tests (with a per-test timeout),
# clippy with warnings as errors, formatting, then pytest (warnings as errors, per-test timeout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
source .venv/bin/activate

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --release --all-targets --quiet -- -D warnings
echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --release --no-fail-fast
else
  cargo test --release
fi
echo "== Python tests"
python -m pytest
