"""Smoke tests of the examples: they run and say what they should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_hello_demo_prints_the_exchange() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "hello" / "demo.py")], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert '"result":{"message":"Hello, Ada!","times_greeted":2}' in out
    assert '"name":"NameTaken","code":"name_taken"' in out
    assert '"code":"invalid_params"' in out and '"code":"method_not_found"' in out
    assert '"event": "export_done"' in out
    assert "router: 5 calls accepted, 1 unknown, 0 dropped" in out
