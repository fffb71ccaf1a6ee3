"""auroraview benchmark: one command, one table.

    make bench                     # or: python bench/run.py [--no-window]

Part 1, the real window (WebKitGTK; under a private Xvfb when there is no display): no-op
call latency timed on the host side, calls/s with 2,000 in flight, 1 MiB JSON echo,
Python→JS events/s with order and loss checked, cold start to first call — each next to the
same figure for a raw-wry echo (bench/wry_floor.rs, no Python) measured in the same run,
and their ratio.

Part 2, the IPC core through `TestClient` (the real Rust router, no window): sequential
no-op latency, calls/s with 10,000 in flight, 1 MiB JSON echo, events/s.

Nothing here is asserted; the targets are the issues'.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from auroraview import Channel, Commands, WebView
from auroraview import __version__ as av_version
from auroraview._xvfb import VirtualDisplay
from auroraview.testing import TestClient

ROOT = Path(__file__).resolve().parents[1]
FLOOR = ROOT / "target" / "release" / "examples" / "wry_floor"

commands = Commands()


@commands.command()
async def noop() -> None:
    return None


@commands.command()
def noop_sync() -> None:
    return None


@commands.command()
async def echo_text(text: str) -> str:
    return text


@commands.command()
async def echo_json(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items


@commands.command()
def count(n: int) -> Iterator[int]:
    yield from range(n)


@commands.command()
async def count_async(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@commands.command()
async def channel_count(n: int, out: Channel[int]) -> int:
    for i in range(n):
        await out.send(i)
    return n


_cancel_seen: list[int] = []


@commands.command()
async def wait_for_cancel() -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        _cancel_seen.append(time.perf_counter_ns())
        raise


async def stream_rate(client: TestClient, method: str, n: int) -> float:
    t0 = time.perf_counter()
    seen = 0
    async for x in client.stream(method, {"n": n}):
        assert x == seen
        seen += 1
    assert seen == n
    return n / (time.perf_counter() - t0)


async def channel_rate(client: TestClient, n: int) -> float:
    got: list[int] = []
    t0 = time.perf_counter()
    assert await client.call("channel_count", {"n": n}, on_item=got.append) == n
    dt = time.perf_counter() - t0
    assert got == list(range(n))
    return n / dt


async def cancel_latency(client: TestClient, n: int) -> float:
    """Median µs from sending `cancel` to the handler's CancelledError."""
    gaps = []
    for _ in range(n):
        task = asyncio.ensure_future(client.call("wait_for_cancel"))
        while client.app.core.in_flight == 0:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        _cancel_seen.clear()
        t0 = time.perf_counter_ns()
        task.cancel()  # the test client sends `cancel` at once
        while not _cancel_seen:
            await asyncio.sleep(0)
        gaps.append((_cancel_seen[0] - t0) / 1000)
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return statistics.median(gaps)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


async def seq_latency(client: TestClient, method: str, n: int) -> tuple[float, float]:
    for _ in range(200):
        await client.call(method)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await client.call(method)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(samples), pct(samples, 0.99)


async def throughput(client: TestClient, method: str, n: int) -> float:
    t0 = time.perf_counter()
    results = await asyncio.gather(*(client.call(method) for _ in range(n)))
    dt = time.perf_counter() - t0
    assert len(results) == n
    return n / dt


async def echo_rate(client: TestClient, method: str, params: dict[str, Any], size: int, rounds: int) -> float:
    await client.call(method, params)
    t0 = time.perf_counter()
    for _ in range(rounds):
        out = await client.call(method, params)
    dt = time.perf_counter() - t0
    assert out == next(iter(params.values()))
    return size * rounds / dt / (1024 * 1024)


async def event_rate(client: TestClient, n: int) -> tuple[float, int]:
    before = len(client.events)
    t0 = time.perf_counter()
    for i in range(n):
        commands.emit("tick", {"seq": i})
    events = client.events
    while len(events) - before < n:
        await asyncio.sleep(0)
        events = client.events
    dt = time.perf_counter() - t0
    got = [e.payload["seq"] for e in events[before:]]
    out_of_order = sum(1 for a, b in zip(got, range(n)) if a != b)
    return n / dt, (n - len(got)) + out_of_order


def one_mib_text() -> tuple[dict[str, Any], int]:
    text = "x" * (1024 * 1024 - 16)
    params = {"text": text}
    return params, len(json.dumps(params))


def one_mib_records() -> tuple[dict[str, Any], int]:
    items = []
    size = 0
    i = 0
    while size < 1024 * 1024:
        item = {"id": i, "name": f"object_{i}", "visible": i % 2 == 0, "pos": [i * 0.5, 1.25, -3.0]}
        items.append(item)
        size += len(json.dumps(item)) + 1
        i += 1
    params = {"items": items}
    return params, len(json.dumps(params))


def floor(rounds: int, in_flight: int, events: int, runs: int) -> dict[str, float]:
    """The raw-wry figures: the median of `runs` runs of bench/wry_floor.rs."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "wry_floor"], cwd=ROOT, check=True)
    results = []
    for _ in range(runs):
        out = subprocess.run([str(FLOOR), str(rounds), str(in_flight), str(events)], capture_output=True, text=True, timeout=300, check=True)
        results.append(json.loads(out.stdout))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


async def window_rows(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    runs = args.rounds
    f = floor(args.window_rounds, args.window_in_flight, args.window_events, runs)
    bench = Commands()
    stamps: list[int] = []
    done: asyncio.Queue[dict[str, object]] = asyncio.Queue()
    ready: asyncio.Queue[int] = asyncio.Queue()
    view: WebView

    @bench.command()
    async def noop() -> None:
        stamps.append(time.perf_counter_ns())

    @bench.command()
    async def echo_text(text: str) -> str:
        return text

    @bench.command()
    async def start_events(n: int) -> None:
        for i in range(n):
            view.emit("tick", {"seq": i})

    @bench.command()
    async def echo_bytes(data: bytes) -> bytes:
        return data

    @bench.command()
    async def echo_json(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return items

    bench_marks: list[float] = []
    payload_sizes: list[int] = []

    @bench.command()
    async def bench_mark(size: int = 0) -> None:
        bench_marks.append(time.perf_counter())
        payload_sizes.append(size)

    @bench.command()
    def stream_items(n: int) -> Iterator[int]:
        yield from range(n)

    @bench.command()
    async def channel_items(n: int, out: Channel[int]) -> int:
        for i in range(n):
            await out.send(i)
        return n

    started = asyncio.Event()
    abort_marks: list[int] = []
    cancel_gaps: list[float] = []

    @bench.command()
    async def wait_cancel() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancel_gaps.append((time.perf_counter_ns() - abort_marks[-1]) / 1000)
            view.emit("cancel_seen", None)
            raise

    @bench.command()
    async def wait_started() -> None:
        await started.wait()
        started.clear()

    @bench.command()
    async def abort_mark() -> None:
        abort_marks.append(time.perf_counter_ns())

    @bench.command("done")
    async def phase_done(name: str, ok: bool, error: str = "") -> None:
        done.put_nowait({"name": name, "ok": ok, "error": error})

    @bench.command()
    async def page_ready() -> None:
        ready.put_nowait(time.perf_counter_ns())

    async def phase(name: str, **phase_args: object) -> float:
        started = time.perf_counter()
        view.emit("phase", {"name": name, "args": phase_args})
        result = await asyncio.wait_for(done.get(), 300)
        if not result["ok"]:
            raise RuntimeError(f"bench phase {name} failed in the page: {result['error']}")
        return time.perf_counter() - started

    async def marked_phase(name: str, **phase_args: object) -> float:
        """A phase timed from the page's `bench_mark` call (after its set-up) to its end."""
        bench_marks.clear()
        await phase(name, **phase_args)
        return time.perf_counter() - bench_marks[-1]

    spin = {} if args.spin_us is None else {"spin_us": args.spin_us}
    view = WebView(title="bench", assets=ROOT / "bench" / "page", commands=bench, width=400, height=300, **spin)
    t0 = time.perf_counter_ns()
    run = asyncio.ensure_future(view.run_async())
    first_call = await asyncio.wait_for(ready.get(), 60)
    cold_ms = (first_call - t0) / 1e6
    try:
        await phase("latency", n=200)  # warm-up
        meds, p99s, cpus = [], [], []
        spin0 = view.stats()
        for _ in range(runs):
            stamps.clear()
            cpu0 = time.process_time()
            await phase("latency", n=args.window_rounds)
            cpus.append((time.process_time() - cpu0) / args.window_rounds * 1e6)
            gaps = sorted((b - a) / 1000 for a, b in zip(stamps, stamps[1:]))
            meds.append(gaps[len(gaps) // 2])
            p99s.append(gaps[min(len(gaps) - 1, len(gaps) * 99 // 100)])
        med, p99, cpu = statistics.median(meds), statistics.median(p99s), statistics.median(cpus)
        spin1 = view.stats()
        hits, misses = (spin1[k] - spin0[k] for k in ("spin_hits", "spin_misses"))
        burst_s = statistics.median([await phase("burst", n=args.window_in_flight) for _ in range(runs)])
        echo_s = statistics.median([await phase("echo", n=10, size=1024 * 1024) for _ in range(runs)])
        events_s = statistics.median([await phase("events", n=args.window_events) for _ in range(runs)])
        lost = view.stats().get("held_dropped", 0)
        n_items = args.window_events * 5
        stream_s = statistics.median([await phase("stream", n=n_items) for _ in range(runs)])
        channel_s = statistics.median([await phase("channel", n=n_items) for _ in range(runs)])
        cancel_meds = []
        for _ in range(runs):
            cancel_gaps.clear()
            await phase("cancel", n=200)
            cancel_meds.append(statistics.median(cancel_gaps))
        cancel_us = statistics.median(cancel_meds)
        bin10_s = statistics.median([await marked_phase("binary", mib=10, n=5) for _ in range(runs)])
        bin100_s = statistics.median([await marked_phase("binary", mib=100, n=2) for _ in range(runs)])
        records_s = statistics.median([await marked_phase("records", n=10, raw=False) for _ in range(runs)])
        records_raw_s = statistics.median([await marked_phase("records", n=10, raw=True) for _ in range(runs)])
        records_mib = payload_sizes[-1] / (1024 * 1024)  # the JSON the page sends, as the floor counts it
    finally:
        view.close()
        await run
    def ratio(ours: float, base: float) -> str:
        return f"{ours / base:.2f}× floor"

    return [
        ("no-op call median (host-timed)", f"{med:,.0f} µs", f"{f['latency_median_us']:,.0f} µs", ratio(med, f["latency_median_us"]) + "  (target ≤ 1.5×)"),
        ("no-op call p99", f"{p99:,.0f} µs", f"{f['latency_p99_us']:,.0f} µs", ratio(p99, f["latency_p99_us"])),
        ("CPU per sequential no-op call (whole process)", f"{cpu:,.0f} µs", f"{f['latency_cpu_us_per_call']:,.0f} µs", ratio(cpu, f["latency_cpu_us_per_call"])),
        ("  calls caught by the asyncio thread's wait", f"{hits / max(1, hits + misses):.0%} ({misses:,} waits ran out)", "", ""),
        (f"calls/s, {args.window_in_flight:,} in flight", f"{args.window_in_flight / burst_s:,.0f}/s", f"{f['burst_per_s']:,.0f}/s", ratio(args.window_in_flight / burst_s, f["burst_per_s"]) + "  (target ≥ 5,000/s)"),
        ("1 MiB JSON echo", f"{10 / echo_s:,.1f} MiB/s", f"{f['echo_mib_per_s']:,.1f} MiB/s", ratio(10 / echo_s, f["echo_mib_per_s"]) + "  (target ≥ 40 MiB/s)"),
        (f"Python→JS events/s ({args.window_events:,}, order checked)", f"{args.window_events / events_s:,.0f}/s, {lost} lost", f"{f['events_per_s']:,.0f}/s", ratio(args.window_events / events_s, f["events_per_s"]) + "  (target ≥ 50,000/s)"),
        (f"stream items/s ({n_items:,} ints, for await, order checked)", f"{n_items / stream_s:,.0f}/s", f"{f['events_per_s']:,.0f}/s", ratio(n_items / stream_s, f["events_per_s"]) + "  (floor: pushed frames; target ≥ 100,000/s)"),
        (f"channel items/s ({n_items:,} ints, onItem, order checked)", f"{n_items / channel_s:,.0f}/s", f"{f['events_per_s']:,.0f}/s", ratio(n_items / channel_s, f["events_per_s"]) + "  (floor: pushed frames)"),
        ("binary echo, 10 MiB ×5 (bytes, raw)", f"{50 / bin10_s:,.1f} MiB/s", f"{f['binary_10_mib_per_s']:,.1f} MiB/s", ratio(50 / bin10_s, f["binary_10_mib_per_s"]) + "  (floor: custom-protocol echo; target ≥ 0.60×)"),
        ("binary echo, 100 MiB ×2 (bytes, raw)", f"{200 / bin100_s:,.1f} MiB/s", f"{f['binary_100_mib_per_s']:,.1f} MiB/s", ratio(200 / bin100_s, f["binary_100_mib_per_s"]) + "  (floor: custom-protocol echo; target ≥ 0.60×)"),
        ("1 MiB record echo (postMessage path, validated)", f"{records_mib * 10 / records_s:,.1f} MiB/s", f"{f['records_mib_per_s']:,.1f} MiB/s", ratio(records_mib * 10 / records_s, f["records_mib_per_s"]) + "  (floor: plain-JSON postMessage echo; target ≥ 3×)"),
        ("1 MiB record echo (custom-protocol path, validated)", f"{records_mib * 10 / records_raw_s:,.1f} MiB/s", f"{f['records_mib_per_s']:,.1f} MiB/s", ratio(records_mib * 10 / records_raw_s, f["records_mib_per_s"]) + "  (floor: plain-JSON postMessage echo; target ≥ 3×)"),
        ("abort → CancelledError in the handler, median", f"{cancel_us / 1000:,.2f} ms", "", "upper bound: page abort after a host mark call  (target ≤ 5 ms)"),
        ("cold start to first call", f"{cold_ms:,.0f} ms", "", ""),
    ]


async def main(args: argparse.Namespace) -> None:
    if args.window:
        if os.environ.get("DISPLAY"):
            window = await window_rows(args)
        else:
            with VirtualDisplay():
                window = await window_rows(args)
        w = max(len(r[0]) for r in window)
        spin = "default" if args.spin_us is None else args.spin_us
        print(f"auroraview {av_version} · real WebKitGTK window vs raw wry, same run, median of {args.rounds} runs each · spin_us={spin}")
        print(f"{'measure'.ljust(w)}  {'auroraview':<24}  {'raw wry floor':<16}  ratio")
        print(f"{'-' * w}  {'-' * 24}  {'-' * 16}  {'-' * 30}")
        for name, ours, base, r in window:
            print(f"{name.ljust(w)}  {ours:<24}  {base:<16}  {r}")
        print()
    if not args.core:
        return
    rows: list[tuple[str, str, str]] = []
    text_params, text_size = one_mib_text()
    rec_params, rec_size = one_mib_records()
    async with TestClient(commands, max_in_flight=max(args.in_flight, 10_000)) as client:
        meds, p99s = [], []
        for _ in range(args.rounds):
            m, p = await seq_latency(client, "noop", args.seq)
            meds.append(m)
            p99s.append(p)
        rows.append(("no-op call, sequential (async handler)", f"median {statistics.median(meds):.1f} µs, p99 {statistics.median(p99s):.1f} µs", "median ≤ 100 µs"))
        m, p = await seq_latency(client, "noop_sync", args.seq)
        rows.append(("no-op call, sequential (sync handler)", f"median {m:.1f} µs, p99 {p:.1f} µs", ""))
        rates = [await throughput(client, "noop", args.in_flight) for _ in range(args.rounds)]
        rows.append((f"no-op calls/s, {args.in_flight:,} in flight", f"{statistics.median(rates):,.0f} calls/s", "≥ 20,000"))
        rates = [await throughput(client, "noop_sync", args.in_flight // 5) for _ in range(args.rounds)]
        rows.append((f"no-op sync calls/s, {args.in_flight // 5:,} in flight", f"{statistics.median(rates):,.0f} calls/s", ""))
        rates = [await echo_rate(client, "echo_text", text_params, text_size, 20) for _ in range(args.rounds)]
        rows.append(("1 MiB JSON echo (one string)", f"{statistics.median(rates):,.0f} MiB/s", "≥ 150 MiB/s"))
        rates = [await echo_rate(client, "echo_json", rec_params, rec_size, 3) for _ in range(args.rounds)]
        n_items = len(rec_params["items"])
        rows.append((f"1 MiB JSON echo ({n_items:,} records, validated)", f"{statistics.median(rates):,.1f} MiB/s", ""))
        results = [await event_rate(client, args.events) for _ in range(args.rounds)]
        lost = sum(r[1] for r in results)
        rows.append((f"Python→client events/s ({args.events:,} per round)", f"{statistics.median(r[0] for r in results):,.0f} events/s, {lost} lost/out of order", ""))
        rates = [await stream_rate(client, "count_async", 100_000) for _ in range(args.rounds)]
        rows.append(("stream items/s (async generator, 100,000 ints)", f"{statistics.median(rates):,.0f} items/s", "≥ 100,000"))
        rates = [await stream_rate(client, "count", 100_000) for _ in range(args.rounds)]
        rows.append(("stream items/s (sync generator, 100,000 ints)", f"{statistics.median(rates):,.0f} items/s", ""))
        rates = [await channel_rate(client, 100_000) for _ in range(args.rounds)]
        rows.append(("channel items/s (100,000 ints)", f"{statistics.median(rates):,.0f} items/s", ""))
        lat = [await cancel_latency(client, 200) for _ in range(args.rounds)]
        rows.append(("cancel sent → CancelledError in the handler", f"median {statistics.median(lat):,.0f} µs", "≤ 5 ms"))
        stats = client.stats()

    width = max(len(r[0]) for r in rows)
    print(f"auroraview {av_version} · Python {platform.python_version()} · {platform.machine()} · TestClient (Rust router, no window)")
    print(f"{'measure'.ljust(width)}  {'result':<40}  target")
    print(f"{'-' * width}  {'-' * 40}  {'-' * 16}")
    for name, result, target in rows:
        print(f"{name.ljust(width)}  {result:<40}  {target}")
    print(f"router: {stats['calls_accepted']:,} calls, {stats['dropped']} dropped, {stats['late_results']} late, {stats['panics']} panics")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seq", type=int, default=5000, help="sequential calls per round")
    ap.add_argument("--in-flight", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--no-window", dest="window", action="store_false", help="skip the real-window part")
    ap.add_argument("--no-core", dest="core", action="store_false", help="skip the TestClient part")
    ap.add_argument("--spin-us", type=int, default=None, help="WebView(spin_us=...) for the window part; 0 turns the wait off")
    ap.add_argument("--window-rounds", type=int, default=2000)
    ap.add_argument("--window-in-flight", type=int, default=2000)
    ap.add_argument("--window-events", type=int, default=10_000)
    ap.add_argument("--no-net", dest="net", action="store_false", help="skip the network part (bench/net.py)")
    ap.add_argument("--no-topics", dest="topics", action="store_false", help="skip the topics part (bench/topics.py)")
    args = ap.parse_args()
    asyncio.run(main(args))
    if args.net:
        import net  # bench/net.py: its own table (servers and load generators in subprocesses)

        print()
        net.main([])
    if args.topics:
        import topics  # bench/topics.py: one publisher, 1,000 subscribers; one node and three through brokers

        print()
        topics.main(["--rounds", "3"])
