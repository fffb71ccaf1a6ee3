"""Qt scenarios for the tests of a window inside a Qt application: each runs in a fresh
interpreter (a process has one GUI and one Qt application), as the test file itself run as
a script, and prints one JSON line last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run_scenario(script: Path, name: str, *, platform: str, timeout: float) -> dict[str, Any]:
    """Run scenario `name` of `script` with Qt's `platform` plugin; the JSON it printed last
    (and its stderr). The child is killed when `timeout` expires."""
    env = {**os.environ, "QT_QPA_PLATFORM": platform, "NO_AT_BRIDGE": "1", "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
    env.pop("QT_NO_GLIB", None)  # Qt's GLib dispatcher, as in every host application
    proc = subprocess.run([sys.executable, str(script), name], capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"scenario {name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    lines = proc.stdout.strip().splitlines()
    assert lines, f"scenario {name} printed nothing:\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    result["stderr"] = proc.stderr
    return result


def require_qt(*tools: str, binding: str = "PySide6") -> None:
    """Skip without the Qt `binding` (PySide6 or PyQt6) or the command-line `tools`; in CI,
    fail instead (setup installs them, and the Qt tests must run there)."""
    import importlib.util

    missing = []
    if importlib.util.find_spec(binding) is None:
        missing.append(binding)
    for tool in tools:
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            missing.append(tool)
    if missing:
        if os.environ.get("CI"):
            pytest.fail(
                f"{', '.join(missing)} missing: scripts/setup.sh installs them, and the Qt tests must run in CI"
            )
        pytest.skip(f"{', '.join(missing)} missing")
