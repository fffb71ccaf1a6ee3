#!/usr/bin/env bash
# Mutation testing of the wire core (docs/mutation-testing.md). cargo-mutants changes the code
# under src/protocol/, src/ipc/ and src/net/ one small edit at a time (an operator swapped, a
# match arm deleted, a function body replaced by a default) and runs the Rust tests against
# each edit. An edit no test notices (a "missed" mutant) is a behaviour nobody asserts: it
# fails this script unless .ci/mutants-equivalent lists it with the reason it cannot change
# behaviour.
#
#   scripts/mutants.sh               the mutants in the lines changed since the commit in
#                                    .ci/mutants-base (what CI runs: seconds to minutes)
#   scripts/mutants.sh --full        every mutant of the files in FULL below (about 1.5–2 h here)
#   scripts/mutants.sh --diff FILE   the mutants in the lines a diff of yours changes
#
# Mutants are built in place (the tree is edited and restored: don't edit it meanwhile) with
# the release profile the tests use, so only our crate rebuilds: ~10–15 s a mutant. Run the
# Rust tests first (scripts/test.sh does): there is no baseline run. Needs a venv that
# scripts/setup.sh made (pyo3 must see the same Python, or the first mutant rebuilds it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

VERSION=27.1.0
SCOPE=(src/protocol src/ipc src/net)
# The full run: the wire core (decoder, scanner, encoder, router) and the files the router's
# pending table and connection identity moved to.
FULL=(src/protocol/decode.rs src/protocol/scan.rs src/protocol/encode.rs
  src/ipc/router.rs src/ipc/pending.rs src/ipc/conn.rs)
EQUIVALENT=.ci/mutants-equivalent

mode=base diff_file=""
case "${1:-}" in
  "") ;;
  --full) mode=full ;;
  --diff) mode=diff diff_file=$(realpath "${2:?--diff needs a file}") ;;
  *) echo "usage: scripts/mutants.sh [--full | --diff FILE]" >&2; exit 2 ;;
esac

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=()
if [ "$mode" = base ]; then
  base=$(grep -v '^#' .ci/mutants-base | head -1 | tr -d '[:space:]')
  if ! git cat-file -e "$base^{commit}" 2>/dev/null && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    git fetch --quiet --unshallow 2>/dev/null || true
    if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
      # A shallow clone that cannot fetch: say so loudly rather than fail the whole run on it.
      echo "mutants: WARNING: shallow clone without $base (.ci/mutants-base), history not fetchable: no mutant tested" >&2
      exit 0
    fi
  fi
  if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    echo "mutants: the base commit $base (.ci/mutants-base) is not in this repository's history" >&2
    exit 1
  fi
  diff_file="$out/changes.diff"
  git diff "$base" -- "${SCOPE[@]}" >"$diff_file"
  if ! grep -q '^+++ b/.*\.rs$' "$diff_file"; then
    echo "mutants: no Rust line under ${SCOPE[*]} changed since $base (.ci/mutants-base): no mutant to test"
    exit 0
  fi
  echo "mutants: the lines changed since $base under ${SCOPE[*]}: $(grep -c '^+++ b/' "$diff_file") files"
fi
if [ "$mode" = full ]; then
  for f in "${FULL[@]}"; do args+=(--file "$f"); done
else
  for d in "${SCOPE[@]}"; do args+=(--file "$d/*.rs"); done
  args+=(--in-diff "$diff_file")
fi

if [ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $VERSION" ]; then
  echo "mutants: installing cargo-mutants $VERSION (cargo install, ~3 minutes on 2 cores)"
  cargo install --locked --quiet --version "$VERSION" cargo-mutants
fi
test_tool=cargo
cargo nextest --version >/dev/null 2>&1 && test_tool=nextest

# Exit status: 0 all caught, 2 missed, 3 timeouts; anything else is a failure of the run
# itself (the outcome files decide the rest).
status=0
# Without the window feature and without examples: src/webview is outside the scope, and
# leaving it out (and the examples' links to WebKitGTK) makes each mutant's build about half.
cargo mutants --in-place --no-shuffle --baseline skip --profile release --test-tool "$test_tool" \
  --no-default-features --cargo-arg=--tests --timeout 20 --build-timeout 900 \
  --output "$out" "${args[@]}" || status=$?
case $status in 0 | 2 | 3) ;; *) echo "mutants: cargo-mutants failed (exit $status)" >&2; exit 1 ;; esac

python3 scripts/mutants_verdict.py "$out/mutants.out" "$EQUIVALENT"
