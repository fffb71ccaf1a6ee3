"""The command line as a new user meets it: `--version`, and `codegen --out` into a folder
that does not exist yet (a traceback before) or names a folder, a module that raises while imported."""

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


def test_a_module_that_raises_on_import_is_shown_with_file_and_line(tmp_path: Path) -> None:
    # Each was one bare line before (`importing 'shop' failed: KeyError: 'missing'`), with no
    # way to find where; the user's frames are shown, not the import machinery or ours.
    (tmp_path / "shop.py").write_text(
        "from auroraview import Commands\ncommands = Commands()\n\n\ndef load():\n    return {}['missing']\n\n\nload()\n"
    )
    (tmp_path / "needs.py").write_text("import os\nimport not_installed_anywhere_zz\n")
    (tmp_path / "typo.py").write_text("x = 1\ndef broken(:\n    pass\n")
    for target, where, what in [
        ("shop:commands", ['shop.py", line 9, in <module>', 'shop.py", line 6, in load', "return {}['missing']"], "KeyError: 'missing'"),
        ("needs:commands", ['needs.py", line 2, in <module>'], "ModuleNotFoundError: No module named 'not_installed_anywhere_zz'"),
        ("typo:commands", ['typo.py", line 2'], "SyntaxError"),
    ]:
        proc = cli(tmp_path, "codegen", target, "--out", "x.ts")
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and "importlib" not in proc.stderr and "cli.py" not in proc.stderr
        assert proc.stderr.startswith(f"auroraview codegen: error: importing {target.split(':')[0]!r} raised"), proc.stderr
        for line in [*where, what]:
            assert line in proc.stderr, proc.stderr
        assert len(proc.stderr.splitlines()) <= 8, proc.stderr
    # A module that is not there at all stays one line.
    proc = cli(tmp_path, "codegen", "nowhere:commands", "--out", "x.ts")
    assert proc.returncode == 2 and proc.stderr.strip() == "auroraview codegen: error: cannot import module 'nowhere': No module named 'nowhere'"


def test_codegen_out_naming_a_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "from auroraview import Commands\ncommands = Commands()\n@commands.command()\ndef ping() -> str:\n    return 'pong'\n"
    )
    (tmp_path / "ui").mkdir()
    for out in ("ui", "ui/"):
        proc = cli(tmp_path, "codegen", "shop:commands", "--out", out)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip() == f"auroraview codegen: error: --out {out} is a folder: name the .ts file to write (e.g. {out.rstrip('/')}/auroraview.gen.ts)"
