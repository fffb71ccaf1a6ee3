"""auroraview benchmark: one command, one table.

    python bench/run.py            # or: make bench

Measures the IPC core through `TestClient` (the real Rust router, no window): sequential
no-op call latency, calls/s with N in flight, 1 MiB JSON echo, Python→client events/s.
Each figure is the median of several rounds; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from typing import Any

from auroraview import Commands
from auroraview import __version__ as av_version
from auroraview.testing import TestClient

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


async def main(args: argparse.Namespace) -> None:
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
    asyncio.run(main(ap.parse_args()))
