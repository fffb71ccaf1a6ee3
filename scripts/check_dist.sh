#!/usr/bin/env bash
# What the built wheel and sdist hold, checked without installing or building anything:
# scripts/check_wheel.sh runs it on the ones it builds, tests/python/test_dist_checks.py on
# broken ones. Usage: check_dist.sh WHEEL SDIST
set -euo pipefail
wheel=$(realpath "$1") sdist=$(realpath "$2")
cd "$(dirname "$0")/.."
fail() { echo "check_dist: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The wheel: no libraries grafted in; the two extensions (the full one and _headless/).
python3 -m zipfile -e "$wheel" "$work/wheel"
[ -z "$(find "$work/wheel" -path '*.libs/*' -print -quit)" ] || fail "libraries were grafted into the wheel"
mapfile -t sos < <(cd "$work/wheel" && find . -name '*.so' -printf '%P\n' | sort)
[ "${#sos[@]}" -eq 2 ] && [[ "${sos[*]}" == *"/_headless/"* ]] ||
  fail "the wheel must hold the full extension and the one in _headless/, not: ${sos[*]:-nothing}"
# Both stripped: no symbol table, no debug sections. The release profile keeps line tables
# (for tests and benchmarks) and pyproject.toml's `strip = true` takes them out of the shipped
# ones; losing it would ship a 25 MB extension. readelf: binutils (build-essential).
for so in "${sos[@]}"; do
  sections=$(readelf -S -W "$work/wheel/$so")
  unstripped=$(grep -oE '\.(symtab|strtab|z?debug_[a-z_.]+)' <<<"$sections" | sort -u | tr '\n' ' ' || true)
  [ -z "$unstripped" ] || fail "$so is not stripped: it has ${unstripped% }"
done
# The sdist: every tracked file a build from it needs (the two crates' manifests, lock file
# and sources, with the bundles src/ embeds by include_str!: src/webview/bridge.gen.js and
# src/net/client.gen.js; the Python package; what pyproject.toml names), and no build output.
# Checked against `git ls-files`, not built: a build from it takes minutes on two cores
# (docs/packaging.md says how long, and how to try it by hand).
git rev-parse --git-dir >/dev/null 2>&1 || fail "the sdist's file list is checked against git ls-files: run it in a git checkout"
tar -tzf "$sdist" | sed 's|^[^/]*/||' | grep -v '/$' | sort -u >"$work/sdist.txt"
{
  git ls-files -- Cargo.toml Cargo.lock pyproject.toml LICENSE README.md src codegen python
  printf '%s\n' src/webview/bridge.gen.js src/net/client.gen.js
} | while read -r f; do [ -e "$f" ] && echo "$f"; done | sort -u >"$work/needed.txt"
missing=$(comm -23 "$work/needed.txt" "$work/sdist.txt")
[ -z "$missing" ] || fail "the sdist is missing: $(paste -sd' ' <<<"$missing")"
output=$(grep -E '(^|/)(target|dist|node_modules|__pycache__)/|\.(so|pyd|whl)$' "$work/sdist.txt" || true)
[ -z "$output" ] || fail "the sdist carries build output: $(paste -sd' ' <<<"$output")"
echo "check_dist: ok"
