"""`auroraview serve` in a process of its own, for tests that need the real CLI server."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]


@contextlib.contextmanager
def serve(target: str, *args: str) -> Iterator[dict[str, Any]]:
    """`auroraview serve TARGET --json ARGS`: its ready line, with the process as "proc";
    stopped (SIGTERM, then SIGKILL) and its pipes closed afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "auroraview", "serve", target, "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "no output"
        ready = json.loads(line)
        ready["proc"] = proc
        yield ready
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
