"""The command line as a new user meets it: `--version`, and `codegen --out` into a folder
that does not exist yet (a traceback before)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import auroraview


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auroraview", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_version(tmp_path: Path) -> None:
    proc = cli(tmp_path, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"auroraview {auroraview.__version__}"


def test_codegen_out_into_a_missing_folder_creates_it(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "from auroraview import Commands\ncommands = Commands()\n@commands.command()\ndef ping() -> str:\n    return 'pong'\n"
    )
    proc = cli(tmp_path, "codegen", "shop:commands", "--out", "ui/src/gen/shop.gen.ts")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ui" / "src" / "gen" / "shop.gen.ts").read_text().startswith("// @generated")
    (tmp_path / "blocker").write_text("a file where a folder is needed")
    proc = cli(tmp_path, "codegen", "shop:commands", "--out", "blocker/shop.gen.ts")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot create the folder for --out blocker/shop.gen.ts" in proc.stderr
