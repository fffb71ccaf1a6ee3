#!/usr/bin/env bash
# Run every test from a fresh machine: set-up, generated-file freshness, formatting, clippy
# with warnings as errors, the typing contract (stubtest, pyright strict, ruff), Rust tests
# (per-test timeout), then pytest (warnings as errors, per-test timeout) including the
# end-to-end suite in real WebKitGTK windows under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
AURORAVIEW_SETUP_TESTS=1 bash scripts/setup.sh
# shellcheck disable=SC1091
source .venv/bin/activate

echo "== generated files are fresh; @auroraview/sdk builds and passes its tests"
# The network suites open 1,000 sockets at once (client and server each): raise the soft limit.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if command -v npm >/dev/null; then
  # The network suite also runs against the real server (`auroraview serve`, built above).
  (cd sdk-ts && npm run --silent check:bridge &&
    AURORAVIEW_REAL_SERVER_CMD=".venv/bin/auroraview serve tests/net/app.py:commands --port 0 --json" npm test --silent)
elif [ -n "${CI:-}" ]; then
  echo "npm is required in CI to check src/webview/bridge.gen.js" >&2
  exit 1
fi

(cd tests/codegen && auroraview codegen corpus:commands --out corpus.gen.ts --check)
(cd examples/outliner && auroraview codegen app:commands --out ui/src/outliner.gen.ts --check)

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --release --workspace --all-targets --quiet -- -D warnings
# The build without the window part (loaded where WebKitGTK is missing) is code we ship too.
cargo clippy --release --no-default-features --lib --quiet -- -D warnings
echo "== typing contract: stubtest, pyright (strict), ruff"
bash scripts/lint.sh
echo "== docs: the site builds strictly (a broken link or anchor fails; snippets: tests/python/test_docs.py)"
python -m pip install --quiet --disable-pip-version-check -r docs/requirements.txt
(cd sdk-ts && npm run --silent docs >/dev/null)   # the TypeScript reference, from the SDK's doc comments
site=$(mktemp -d)
# Not --quiet: it hides the warnings, and strict mode then passes a broken link.
mkdocs build --strict --site-dir "$site"
rm -rf "$site"
echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --release --workspace --no-fail-fast
else
  cargo test --release --workspace
fi
echo "== mutation testing: the mutants in the lines of src/{protocol,ipc,net} changed since .ci/mutants-base"
bash scripts/mutants.sh
echo "== Python tests"
python -m pytest
echo "== the network transport in a real browser: the outliner served to headless Chromium"
(cd tests/net && npm test --silent)
echo "== the wheel and the sdist, installed into a clean venv outside the tree"
bash scripts/check_wheel.sh
