"""scripts/check_dist.sh, which scripts/check_wheel.sh runs on the wheel and the sdist it
builds, catches what it is there for: a library grafted into the wheel, an extension shipped
with its symbol table or debug sections, an sdist missing a file a build from it needs or
carrying build output. Here it is given small hand-made archives, so nothing is built."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "scripts" / "check_dist.sh"
SDIST_ROOTS = ("Cargo.toml", "Cargo.lock", "pyproject.toml", "LICENSE", "README.md", "src", "codegen", "python")


@pytest.fixture(autouse=True)
def tools() -> None:
    missing = [t for t in ("cc", "strip", "readelf", "git") if shutil.which(t) is None]
    if missing or not (ROOT / ".git").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a git checkout and cc, strip, readelf (build-essential): missing {missing}")
        pytest.skip(f"needs a git checkout and cc, strip, readelf: missing {missing}")


def shared_object(tmp_path: Path, name: str, flags: list[str], strip: bool) -> Path:
    src = tmp_path / "lib.c"
    src.write_text("int answer(void) { return 42; }\n")
    out = tmp_path / name
    subprocess.run(["cc", "-shared", "-fPIC", *flags, str(src), "-o", str(out)], check=True)
    if strip:
        subprocess.run(["strip", str(out)], check=True)
    return out


def make_wheel(tmp_path: Path, members: Mapping[str, Path]) -> Path:
    wheel = tmp_path / "auroraview-0.1.0-cp310-abi3-linux_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("auroraview/__init__.py", "")
        for name, path in members.items():
            zf.write(path, name)
    return wheel


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *SDIST_ROOTS], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if (ROOT / f).exists()]


def make_sdist(tmp_path: Path, leave_out: str | None = None, extra: Mapping[str, Path] | None = None) -> Path:
    sdist = tmp_path / "auroraview-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for f in tracked():
            if f != leave_out:
                tf.add(ROOT / f, f"auroraview-0.1.0/{f}")
        tf.add(ROOT / "pyproject.toml", "auroraview-0.1.0/PKG-INFO")
        for name, path in (extra or {}).items():
            tf.add(path, f"auroraview-0.1.0/{name}")
    return sdist


def check(wheel: Path, sdist: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), str(wheel), str(sdist)], capture_output=True, text=True, timeout=60)


@pytest.fixture
def stripped(tmp_path: Path) -> Path:
    return shared_object(tmp_path, "stripped.so", ["-g"], strip=True)


@pytest.fixture
def good_wheel(tmp_path: Path, stripped: Path) -> Path:
    return make_wheel(
        tmp_path, {"auroraview/_core.abi3.so": stripped, "auroraview/_headless/_core.abi3.so": stripped}
    )


def test_a_stripped_wheel_and_a_complete_sdist_pass(tmp_path: Path, good_wheel: Path) -> None:
    proc = check(good_wheel, make_sdist(tmp_path))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("flags", "section"),
    [(["-g"], ".debug_info"), (["-g1"], ".debug_line"), ([], ".symtab")],
    ids=["debug-info", "line-tables", "symbols"],
)
@pytest.mark.parametrize("where", ["auroraview/_core.abi3.so", "auroraview/_headless/_core.abi3.so"])
def test_an_unstripped_extension_fails(tmp_path: Path, stripped: Path, flags: list[str], section: str, where: str) -> None:
    unstripped = shared_object(tmp_path, "unstripped.so", flags, strip=False)
    members = {"auroraview/_core.abi3.so": stripped, "auroraview/_headless/_core.abi3.so": stripped, where: unstripped}
    proc = check(make_wheel(tmp_path, members), make_sdist(tmp_path))
    assert proc.returncode != 0
    assert f"{where} is not stripped" in proc.stderr and section in proc.stderr, proc.stderr


def test_a_grafted_library_fails(tmp_path: Path, stripped: Path) -> None:
    members = {
        "auroraview/_core.abi3.so": stripped,
        "auroraview/_headless/_core.abi3.so": stripped,
        "auroraview.libs/libwebkit2gtk-4.1.so.0": stripped,
    }
    proc = check(make_wheel(tmp_path, members), make_sdist(tmp_path))
    assert proc.returncode != 0 and "grafted" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "missing",
    [
        "Cargo.lock",
        "codegen/Cargo.toml",
        "codegen/src/lib.rs",
        "src/lib.rs",
        "src/webview/bridge.gen.js",  # the bridge bundle the extension embeds (include_str!)
        "src/net/client.gen.js",  # the network client the server serves (include_str!)
        "python/auroraview/__init__.py",
        "python/auroraview/py.typed",
        "LICENSE",
        "README.md",
    ],
)
def test_an_sdist_missing_a_file_a_build_needs_fails(tmp_path: Path, good_wheel: Path, missing: str) -> None:
    assert missing in tracked()
    proc = check(good_wheel, make_sdist(tmp_path, leave_out=missing))
    assert proc.returncode != 0
    assert "the sdist is missing:" in proc.stderr and missing in proc.stderr, proc.stderr


def test_build_output_in_the_sdist_fails(tmp_path: Path, good_wheel: Path, stripped: Path) -> None:
    proc = check(good_wheel, make_sdist(tmp_path, extra={"python/auroraview/_core.abi3.so": stripped}))
    assert proc.returncode != 0
    assert "build output" in proc.stderr and "python/auroraview/_core.abi3.so" in proc.stderr, proc.stderr
