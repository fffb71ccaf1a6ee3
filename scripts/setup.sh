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
# System packages: WebKitGTK to build and run windows, Xvfb/xwd for headless runs.
APT_PACKAGES=(libwebkit2gtk-4.1-dev build-essential pkg-config xvfb xauth x11-apps)
# For the test suite only (scripts/test.sh sets AURORAVIEW_SETUP_TESTS=1): the browser the
# network suite drives (Debian's Chromium, through npm playwright-core; nothing downloaded),
# and the brokers the topics' multi-process tests share topics through (each test starts its
# own server on a loopback port it picks, and stops it).
if [ -n "${AURORAVIEW_SETUP_TESTS:-}" ]; then
  APT_PACKAGES+=(chromium)
  # The Qt host tests (tests/e2e/test_qt_dock.py): the libraries PySide6's xcb platform
  # plugin loads, xdotool for real key presses into an embedded page, xwininfo.
  APT_PACKAGES+=(libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-randr0
    libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 xdotool x11-utils)
fi
# The brokers: for the tests, and for the benchmark (`make bench` sets AURORAVIEW_SETUP_BROKERS=1).
if [ -n "${AURORAVIEW_SETUP_TESTS:-}${AURORAVIEW_SETUP_BROKERS:-}" ]; then
  APT_PACKAGES+=(redis-server nats-server)
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The bridge's TypeScript compiler (sdk-ts/), pinned by package-lock.json.
if command -v npm >/dev/null; then
  if [ ! -d sdk-ts/node_modules ] || [ sdk-ts/package-lock.json -nt sdk-ts/node_modules ]; then
    (cd sdk-ts && npm ci --silent --no-audit --no-fund)
  fi
  # Example frontends written in TypeScript.
  sdk-ts/node_modules/.bin/tsc -p examples/outliner
  if [ -n "${AURORAVIEW_SETUP_TESTS:-}" ] &&
    { [ ! -d tests/net/node_modules ] || [ tests/net/package-lock.json -nt tests/net/node_modules ]; }; then
    (cd tests/net && npm ci --silent --no-audit --no-fund)
  fi
else
  echo "setup: npm not found; the bridge check and the TypeScript examples need it" >&2
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
source .venv/bin/activate
python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-dev.txt
# The build must succeed: a failed build would otherwise leave the previous extension in
# place and every later step would test stale code.
build_log=$(mktemp)
# First the core without its window part (no WebKitGTK, no GTK), kept in _headless/: the
# package loads it where the full build cannot load (python/auroraview/_load.py). Both builds
# share target/ (cargo keeps each feature set's artifacts apart), so a rebuild relinks only.
mkdir -p python/auroraview/_headless
if ! maturin develop --release --quiet --no-default-features >"$build_log" 2>&1 ||
  ! mv -f python/auroraview/_core.abi3.so python/auroraview/_headless/_core.abi3.so; then
  cat "$build_log" >&2
  rm -f "$build_log"
  echo "setup: building the extension without its window part failed (see above)" >&2
  exit 1
fi
if ! maturin develop --release --quiet >"$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  echo "setup: building the extension failed (see above)" >&2
  exit 1
fi
grep -v "^📦\|^✏️\|^🛠\|patchelf" "$build_log" || true
rm -f "$build_log"
python -c "import auroraview, sys; print(f'setup: auroraview {auroraview.__version__} ready (Python {sys.version.split()[0]})')"
