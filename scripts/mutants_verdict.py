#!/usr/bin/env python3
"""The verdict of scripts/mutants.sh on a cargo-mutants run.

    python3 scripts/mutants_verdict.py MUTANTS_OUT EQUIVALENT_LIST

Reads cargo-mutants' outcome lists (``caught.txt``, ``missed.txt``, ``timeout.txt``,
``unviable.txt`` in MUTANTS_OUT) and prints the score. Exits 1 when a missed mutant is not
in EQUIVALENT_LIST, or when an entry there has no reason. A mutant that makes the tests hang
(timed out) counts as caught; unviable ones (they do not build) are not counted.

EQUIVALENT_LIST holds one mutant a line, as cargo-mutants names it without its line and
column, then `` # `` and why it cannot change behaviour::

    src/ipc/x.rs: replace || with && in f # both sides are false together: ...

Without line numbers an entry outlives edits elsewhere in the file; it covers that edit of
that function wherever it sits (a second identical edit in the same function included).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def names(outdir: Path, kind: str) -> list[str]:
    path = outdir / f"{kind}.txt"
    return [n for n in path.read_text().splitlines() if n] if path.exists() else []


def key(name: str) -> str:
    """``src/x.rs:22:28: replace || with && in f`` → ``src/x.rs: replace || with && in f``."""
    return re.sub(r"^([^:]+):\d+:\d+:", r"\1:", name)


def read_list(path: Path) -> tuple[dict[str, str], list[str]]:
    entries: dict[str, str] = {}
    bad: list[str] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        mutant, sep, reason = line.partition(" # ")
        if not sep or not reason.strip():
            bad.append(f"{path.name}:{n}: no reason after ' # ': {line}")
        entries[mutant.strip()] = reason.strip()
    return entries, bad


def main(outdir: Path, listed_path: Path) -> int:
    equivalent, bad = read_list(listed_path)
    caught, missed, timeouts, unviable = (names(outdir, k) for k in ("caught", "missed", "timeout", "unviable"))
    unlisted = [m for m in missed if key(m) not in equivalent]
    excused = [m for m in missed if key(m) in equivalent]
    stale = sorted({key(m) for m in caught + timeouts} & set(equivalent))
    tested = len(caught) + len(missed) + len(timeouts)
    if tested:
        noticed = len(caught) + len(timeouts)
        print(
            f"mutants: {tested} tested ({len(unviable)} unviable, not counted): {len(caught)} caught, "
            f"{len(timeouts)} timed out (a hang counts as caught), {len(missed)} missed of which "
            f"{len(excused)} listed as equivalent; score {noticed / tested:.1%}, "
            f"{noticed / max(1, tested - len(excused)):.1%} without the equivalents"
        )
    else:
        print(f"mutants: no mutant to test in the changed lines ({len(unviable)} unviable)")
    for m in timeouts:
        print(f"  timed out (caught): {m}")
    for m in excused:
        print(f"  missed, equivalent: {m}  ({equivalent[key(m)]})")
    for k in stale:
        print(f"  note: '{k}' is listed in {listed_path.name} but was caught: the entry can go")
    for line in bad:
        print(f"  {line}")
    for m in unlisted:
        print(f"  MISSED: {m}")
    if unlisted:
        print(
            f"mutants: {len(unlisted)} mutant(s) no test notices. Write a test that fails against each, "
            f"or list it in {listed_path} with the reason it cannot change behaviour "
            "(see the edit: cargo mutants --list --diff -f FILE)."
        )
    return 1 if unlisted or bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
