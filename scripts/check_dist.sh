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
echo "check_dist: ok"
