"""Helpers shared by bench/net.py's Python load generators: CPU accounting and percentiles.

CPU of the server under test: the sum of ``se.sum_exec_runtime`` over its threads
(/proc/PID/task/*/sched, µs precision) for the total, and utime/stime of /proc/PID/stat (clock
ticks) for the user/system split. CPU of the load generator: getrusage (µs precision).
"""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path
from typing import Any

_EXEC = re.compile(r"se\.sum_exec_runtime\s*:\s*([\d.]+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> dict[str, float] | None:
    """{exec_s, user_s, sys_s} of process ``pid`` so far, or None without a pid."""
    if not pid:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    exec_ms = 0.0
    found = False
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            m = _EXEC.search(Path(f"/proc/{pid}/task/{tid}/sched").read_text())
        except OSError:  # the thread ended meanwhile, or no CONFIG_SCHED_DEBUG
            continue
        if m:
            exec_ms += float(m.group(1))
            found = True
    user, system = int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK
    return {"exec_s": exec_ms / 1000 if found else user + system, "user_s": user, "sys_s": system}


def self_cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


class Timed:
    """Wall time and CPU (this process, and the server ``pid``) around a block."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.wall_s = 0.0
        self.cpu: dict[str, Any] = {}

    def __enter__(self) -> Timed:
        self._s0 = process_cpu(self.server_pid)
        self._c0 = self_cpu()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._t0
        c1 = self_cpu()
        s1 = process_cpu(self.server_pid)
        self.cpu = {"client_user_s": c1[0] - self._c0[0], "client_sys_s": c1[1] - self._c0[1]}
        if self._s0 and s1:
            self.cpu.update({k: s1[k[7:]] - self._s0[k[7:]] for k in ("server_exec_s", "server_user_s", "server_sys_s")})


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]
