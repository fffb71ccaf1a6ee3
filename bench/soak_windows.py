"""Open and close N windows (default 200) in one process and print, as it goes, this
process's child processes (by name), threads, open file descriptors and RSS.

    python bench/soak_windows.py [N]

The figures of docs/RELIABILITY.md case 25 come from the "2 s later" line.

Runs under a private Xvfb. Not a benchmark of speed: the figures to watch are what stays
behind per closed window (docs/RELIABILITY.md case 25; the bounded CI version is
tests/e2e/test_faults_window.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from auroraview import Commands, WebView
from auroraview._xvfb import VirtualDisplay


def census() -> dict[str, object]:
    me, names = os.getpid(), dict[str, int]()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if int(rest.split()[1]) == me:
            names[comm] = names.get(comm, 0) + 1
    with open("/proc/self/statm") as f:
        rss_mb = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20
    return {
        "children": sum(names.values()),
        "threads": len(os.listdir("/proc/self/task")),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_mb": rss_mb,
        "by_name": names,
    }


async def main(n: int) -> None:
    commands = Commands()
    print("start", census(), flush=True)
    started = time.monotonic()
    for i in range(1, n + 1):
        view = WebView("soak", html="<p>soak</p>", commands=commands)
        task = asyncio.ensure_future(view.run_async())
        await view.wait_open()
        await asyncio.sleep(0.05)
        view.close()
        await task
        if i in (1, 10, 50, 100, 200) or i == n:
            print(i, census(), f"{time.monotonic() - started:.1f} s", flush=True)
    await asyncio.sleep(2)
    print("2 s later", census(), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200, help="windows to open and close (default 200)")
    args = parser.parse_args()
    with VirtualDisplay():
        asyncio.run(main(args.n))
