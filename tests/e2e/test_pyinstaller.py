"""Shipping an app: examples/hello bundled by PyInstaller into a one-folder app, with the
command the README documents (auroraview's hook is found through its entry point), then run
as a user without Python would: from another folder, with a bare environment, under Xvfb.
The page must really call Python through the window and get the answer back."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello"
BUILD_TIMEOUT = 600  # PyInstaller's analysis takes 15-60 s on a 2-core machine
RUN_TIMEOUT = 120  # the self-test gives up by itself after 60 s


def _run(cmd: list[str], *, timeout: float, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cmd` in its own process group, and end the whole group if it outlives `timeout`
    (PyInstaller's helper interpreters, WebKit's web and network processes)."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
        cwd=cwd,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd[0]} ran over {timeout} s\nstdout:\n{out}\nstderr:\n{err[-4000:]}")
    finally:
        # Whatever the process group left behind (it exited, a helper may not have).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT + 60)
def test_hello_bundled_by_pyinstaller_runs_without_python(tmp_path: Path, display: str | None) -> None:
    assert display is not None
    if importlib.util.find_spec("PyInstaller") is None:
        if os.environ.get("CI"):
            pytest.fail("PyInstaller is missing: CI installs it (scripts/requirements-dev.txt, by scripts/setup.sh)")
        pytest.skip("PyInstaller is not installed (pip install -r scripts/requirements-dev.txt)")
    hooks = [ep.value for ep in importlib.metadata.entry_points(group="pyinstaller40")]
    assert "auroraview.__pyinstaller:get_hook_dirs" in hooks, (
        f"auroraview's PyInstaller hook is not registered ({hooks}): reinstall the package (scripts/setup.sh)"
    )

    # The documented command (README "Shipping an app"), into this test's folder.
    started = time.monotonic()
    build = _run(
        [
            sys.executable, "-m", "PyInstaller", "--onedir", "--noconfirm", "--log-level", "WARN",
            "--name", "hello", "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build"),
            "--specpath", str(tmp_path), "--add-data", f"{HELLO / 'ui'}:ui", str(HELLO / "main.py"),
        ],
        timeout=BUILD_TIMEOUT,
        cwd=tmp_path,
    )  # fmt: skip
    built_in = time.monotonic() - started
    assert build.returncode == 0, build.stderr[-6000:]
    app = tmp_path / "dist" / "hello"
    internal = app / "_internal"
    assert (internal / "ui" / "index.html").is_file()

    # The hook left the WebKitGTK stack to the system: no copy of it in the bundle, and the
    # bundled extension finds every library it needs on this (the target) machine.
    bundled = sorted(p.name for p in internal.rglob("*.so*"))
    assert not [n for n in bundled if re.match(r"lib(webkit2gtk|javascriptcoregtk|gtk-3|gdk-3|glib-2|soup-3|icu)", n)]
    core = internal / "auroraview" / "_core.abi3.so"
    linked = subprocess.run(["ldd", str(core)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in linked, linked
    assert re.search(r"libwebkit2gtk-4\.1\.so\.0 => /(usr/)?lib", linked), linked

    # As a user without Python runs it: another folder, no PYTHONPATH, no venv on PATH.
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DISPLAY": display,
        "NO_AT_BRIDGE": "1",
        "DBUS_SESSION_BUS_ADDRESS": "disabled:",
    }
    started = time.monotonic()
    run = _run([str(app / "hello"), "--self-test"], timeout=RUN_TIMEOUT, cwd=home, env=env)
    ran_in = time.monotonic() - started
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr[-6000:]}"
    # The greeting is what Python's `greet` returned, rendered by the page; the event is
    # Python's answer to the page's `export_scene`.
    assert "self-test: #greeting = Hello, Ada! (×1)" in run.stdout, run.stdout
    assert "self-test: #events = export_done → /tmp/scene.fbx" in run.stdout, run.stdout
    size = sum(p.stat().st_size for p in app.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"pyinstaller: built in {built_in:.0f} s, {size / 2**20:.0f} MiB; the bundle ran its self-test in {ran_in:.1f} s")
