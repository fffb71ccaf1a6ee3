"""scripts/mutants_verdict.py, the verdict CI's mutation step (scripts/mutants.sh) gives on a
cargo-mutants run, fails for what it is there for: a missed mutant nobody listed, a listed one
without a reason. Given hand-made outcome files, so nothing is built or mutated. Also: the
checked-in equivalents list parses and gives every entry a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "mutants_verdict.py"

MISSED = "src/ipc/origin.rs:22:28: replace || with && in Origin::parse"
CAUGHT = "src/ipc/origin.rs:22:31: delete ! in Origin::parse"


def verdict(tmp_path: Path, listed: str, **outcomes: list[str]) -> subprocess.CompletedProcess[str]:
    out = tmp_path / "mutants.out"
    out.mkdir(exist_ok=True)
    for kind in ("caught", "missed", "timeout", "unviable"):
        (out / f"{kind}.txt").write_text("".join(f"{n}\n" for n in outcomes.get(kind, [])))
    lst = tmp_path / "equivalent"
    lst.write_text(listed)
    return subprocess.run([sys.executable, str(SCRIPT), str(out), str(lst)], capture_output=True, text=True)


def test_all_caught_passes_with_its_score(tmp_path: Path) -> None:
    r = verdict(tmp_path, "", caught=[CAUGHT], timeout=["src/a.rs:1:1: replace += with -= in f"])
    assert r.returncode == 0, r.stdout
    assert "2 tested" in r.stdout and "score 100.0%" in r.stdout
    assert "timed out (caught)" in r.stdout


def test_a_missed_mutant_nobody_listed_fails_and_is_named(tmp_path: Path) -> None:
    r = verdict(tmp_path, "", caught=[CAUGHT], missed=[MISSED])
    assert r.returncode == 1
    assert f"MISSED: {MISSED}" in r.stdout
    assert "score 50.0%" in r.stdout


def test_a_listed_mutant_passes_wherever_its_line_moved(tmp_path: Path) -> None:
    listed = "# comment\n\nsrc/ipc/origin.rs: replace || with && in Origin::parse # both false together\n"
    moved = MISSED.replace(":22:28:", ":40:3:")
    r = verdict(tmp_path, listed, caught=[CAUGHT], missed=[moved])
    assert r.returncode == 0, r.stdout
    assert "missed, equivalent" in r.stdout and "(both false together)" in r.stdout
    assert "100.0% without the equivalents" in r.stdout


def test_the_listing_names_the_file_and_function(tmp_path: Path) -> None:
    other_file = "src/ipc/conn.rs: replace || with && in Origin::parse # wrong file\n"
    other_fn = "src/ipc/origin.rs: replace || with && in Origin::fmt # wrong function\n"
    for listed in (other_file, other_fn):
        assert verdict(tmp_path, listed, missed=[MISSED]).returncode == 1


def test_an_entry_without_a_reason_fails(tmp_path: Path) -> None:
    entry = "src/ipc/origin.rs: replace || with && in Origin::parse"
    for listed in (f"{entry}\n", f"{entry} #  \n"):
        r = verdict(tmp_path, listed, missed=[MISSED])
        assert r.returncode == 1
        assert "no reason" in r.stdout


def test_a_listed_mutant_that_is_now_caught_is_pointed_out(tmp_path: Path) -> None:
    r = verdict(tmp_path, "src/ipc/origin.rs: delete ! in Origin::parse # stale\n", caught=[CAUGHT])
    assert r.returncode == 0
    assert "the entry can go" in r.stdout


def test_no_mutant_in_the_diff_passes(tmp_path: Path) -> None:
    r = verdict(tmp_path, "", unviable=["src/a.rs:1:1: replace f -> X with Default::default()"])
    assert r.returncode == 0
    assert "no mutant to test" in r.stdout


def test_the_checked_in_list_gives_every_entry_a_reason(tmp_path: Path) -> None:
    listed = (ROOT / ".ci" / "mutants-equivalent").read_text()
    r = verdict(tmp_path, listed)
    assert r.returncode == 0, r.stdout
    for line in listed.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" # ")
            assert name.startswith("src/") and ".rs: " in name and len(reason.strip()) > 10, line
