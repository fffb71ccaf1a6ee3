"""Where the sequential call's tail goes, in a real window (issue 11: "profile, don't guess").

    python bench/tail.py [--calls 5000] [--runs 3]

Runs the bench page's sequential no-op phase (each call awaited before the next) and looks at
the gaps between consecutive handler entries on the host (one full round trip each):

- **GC**: each gap is checked against the collector's pauses (`gc.callbacks`); then the phase
  runs again with the collector off. The difference in p99 is Python's collector's share.
- **Scheduling**: the phase runs again under `perf sched record` (when perf is available and
  allowed), and `perf sched latency` gives, per thread of this process, of WebKit's web
  process and of Xvfb, how long they waited to run once woken (max and average).
- **The host's wait** (`spin_us`): the phase with the asyncio thread's wait for the next call
  on (the default, 1000 µs) and off.

With ``--records``: where the 1 MiB record echo's host time goes (no window): the params'
JSON parsed by `json.loads`, validated by pydantic from JSON (what the runtime does), and
the result dumped, each the best and median of 15.

Prints one table per experiment; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from auroraview import Commands, WebView  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def measure(calls: int, runs: int, *, spin_us: int | None, gc_off: bool, perf: Path | None) -> dict[str, Any]:
    bench = Commands()
    stamps: list[int] = []
    done: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    ready: asyncio.Queue[int] = asyncio.Queue()
    pauses: list[tuple[int, int]] = []
    gc_started: list[int] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started.append(time.perf_counter_ns())
        elif gc_started:
            pauses.append((gc_started.pop(), time.perf_counter_ns()))

    @bench.command()
    async def noop() -> None:
        stamps.append(time.perf_counter_ns())

    @bench.command("done")
    async def phase_done(name: str, ok: bool, error: str = "") -> None:
        done.put_nowait({"name": name, "ok": ok, "error": error})

    @bench.command()
    async def page_ready() -> None:
        ready.put_nowait(time.perf_counter_ns())

    async def phase(name: str, **args: object) -> None:
        view.emit("phase", {"name": name, "args": args})
        result = await asyncio.wait_for(done.get(), 300)
        if not result["ok"]:
            raise RuntimeError(f"phase {name} failed: {result['error']}")

    page = ROOT / "bench" / "page"
    if spin_us is None:
        view = WebView(title="tail", assets=page, commands=bench, width=400, height=300)
    else:
        view = WebView(title="tail", assets=page, commands=bench, width=400, height=300, spin_us=spin_us)
    run = asyncio.ensure_future(view.run_async())
    sched = None
    try:
        await asyncio.wait_for(ready.get(), 60)
        await phase("latency", n=500)  # warm-up
        gc.callbacks.append(on_gc)
        if gc_off:
            gc.disable()
        if perf is not None:
            sched = subprocess.Popen(
                ["perf", "sched", "record", "-a", "-o", str(perf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(0.5)
        gaps: list[float] = []
        in_gc = 0
        for _ in range(runs):
            stamps.clear()
            pauses.clear()
            await phase("latency", n=calls)
            for a, b in zip(stamps, stamps[1:]):
                gaps.append((b - a) / 1000)
                if any(s < b and e > a for s, e in pauses):
                    in_gc += 1
        if sched is not None:
            sched.send_signal(2)
            sched.wait(30)
    finally:
        gc.enable()
        if on_gc in gc.callbacks:
            gc.callbacks.remove(on_gc)
        view.close()
        await asyncio.wait_for(run, 10)
    p99 = pct(gaps, 0.99)
    slow = [g for g in gaps if g >= p99]
    return {
        "median": statistics.median(gaps),
        "p99": p99,
        "p999": pct(gaps, 0.999),
        "max": max(gaps),
        "n": len(gaps),
        "in_gc": in_gc,
        "slow": len(slow),
    }


def sched_latency(perf: Path) -> list[str]:
    out = subprocess.run(
        ["perf", "sched", "latency", "-i", str(perf), "--sort", "max"], capture_output=True, text=True, timeout=120
    ).stdout
    keep = ("python", "WebKitWebProces", "Xvfb", "tokio", "auroraview", "gui", "WebKitNetworkPr", "pool", "gmain")
    rows = [line for line in out.splitlines() if "|" in line and any(k in line for k in keep)]
    return rows[:14]


def records() -> None:
    import json

    from pydantic import TypeAdapter

    sys.path.insert(0, str(ROOT / "bench"))
    from run import one_mib_records  # the bench's own payload

    params, size = one_mib_records()
    text = json.dumps(params).encode()
    adapter: TypeAdapter[Any] = TypeAdapter(dict[str, list[dict[str, Any]]])
    items = adapter.validate_json(text)["items"]
    result: TypeAdapter[Any] = TypeAdapter(list[dict[str, Any]])

    def timed(fn: Any) -> tuple[float, float]:
        ts: list[float] = []
        for _ in range(15):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return min(ts) * 1e3, statistics.median(ts) * 1e3

    print(f"| 1 MiB record echo, host side ({size:,} bytes, {len(items):,} records) | best ms | median ms |")
    print("|---|---|---|")
    for label, fn in (
        ("json.loads of the params", lambda: json.loads(text)),
        ("pydantic validate_json (the runtime's way)", lambda: adapter.validate_json(text)),
        ("pydantic dump_json of the result", lambda: result.dump_json(items)),
    ):
        best, median = timed(fn)
        print(f"| {label} | {best:.1f} | {median:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--records", action="store_true", help="only the 1 MiB record echo's host-side costs")
    args = ap.parse_args()
    if args.records:
        records()
        return

    def show(label: str, r: dict[str, Any]) -> None:
        print(
            f"| {label} | {r['median']:,.0f} | {r['p99']:,.0f} | {r['p999']:,.0f} | {r['max']:,.0f} "
            f"| {r['in_gc']} of {r['n']} |"
        )

    print("| sequential no-op, host-side gap (µs) | median | p99 | p99.9 | max | gaps overlapping a GC pause |")
    print("|---|---|---|---|---|---|")
    base = asyncio.run(measure(args.calls, args.runs, spin_us=None, gc_off=False, perf=None))
    show("default (spin_us 1000, GC on)", base)
    show("GC off", asyncio.run(measure(args.calls, args.runs, spin_us=None, gc_off=True, perf=None)))
    show("spin_us 0", asyncio.run(measure(args.calls, args.runs, spin_us=0, gc_off=False, perf=None)))
    if shutil.which("perf") is None:
        print("\nperf is not installed: no scheduling figures")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "sched.data"
        traced = asyncio.run(measure(args.calls, 1, spin_us=None, gc_off=False, perf=data))
        show("under perf sched record", traced)
        if not data.exists() or data.stat().st_size == 0:
            print("\nperf sched record wrote nothing (not allowed here?)")
            return
        print("\nperf sched latency (wake-up to running, per task; sorted by max):")
        for line in sched_latency(data):
            print(line)
    print(f"\n{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
