"""The load generator of bench/net.py for auroraview's own Python client
(``auroraview.client.connect_async``, on the ``websockets`` library), in a process of its
own: ours with a Python client, as the peer has one.

    python bench/net_py_client.py '{"url": "ws://…/__auroraview/ws", "token": "…", ...}'

One JSON argument (see ``DEFAULTS``), one JSON line on stdout; the measurements of
bench/net_client.mjs (seq, pipe with ``window`` in flight, conns with one in flight each).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

from net_common import Timed, pct

from auroraview.client import AsyncClient, connect_async

DEFAULTS: dict[str, Any] = {
    "url": "",
    "token": "",
    "method": "noop",
    "server_pid": 0,
    "warmup": 200,
    "seq": 2000,
    "pipe": 20000,
    "window": 256,
    "conns": 100,
    "per_conn": 100,
    "only": ["seq", "pipe", "conns"],
}
opt = {**DEFAULTS, **json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")}


async def timed(coro: Any) -> tuple[Any, float, dict[str, float]]:
    with Timed(opt["server_pid"]) as t:
        out = await coro
    return out, t.wall_s, t.cpu


async def seq(client: AsyncClient) -> dict[str, Any]:
    method = opt["method"]
    for _ in range(opt["warmup"]):
        await client.call(method)
    samples: list[float] = []

    async def run() -> None:
        for _ in range(opt["seq"]):
            t0 = time.perf_counter_ns()
            await client.call(method)
            samples.append((time.perf_counter_ns() - t0) / 1000)

    _, wall, cpu = await timed(run())
    return {"n": opt["seq"], "median_us": statistics.median(samples), "p99_us": pct(samples, 0.99), "wall_s": wall, "cpu": cpu}


async def chains(clients: list[AsyncClient], in_flight: int, total: int) -> None:
    sent = 0
    method = opt["method"]

    async def chain(client: AsyncClient) -> None:
        nonlocal sent
        while sent < total:
            sent += 1
            await client.call(method)

    await asyncio.gather(*(chain(c) for c in clients for _ in range(in_flight)))


async def pipe(client: AsyncClient) -> dict[str, Any]:
    await chains([client], opt["window"], min(opt["pipe"], 1000))
    _, wall, cpu = await timed(chains([client], opt["window"], opt["pipe"]))
    return {"n": opt["pipe"], "window": opt["window"], "per_s": opt["pipe"] / wall, "wall_s": wall, "cpu": cpu}


async def conns() -> dict[str, Any]:
    clients: list[AsyncClient] = []
    try:
        for _ in range(opt["conns"]):
            clients.append(await connect_async(opt["url"], opt["token"]))
        await chains(clients, 1, opt["conns"] * 5)
        total = opt["conns"] * opt["per_conn"]
        _, wall, cpu = await timed(chains(clients, 1, total))
        return {"n": total, "conns": opt["conns"], "per_s": total / wall, "wall_s": wall, "cpu": cpu}
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def main() -> None:
    result: dict[str, Any] = {"client": "auroraview.client", "method": opt["method"]}
    async with await connect_async(opt["url"], opt["token"]) as client:
        if "seq" in opt["only"]:
            result["seq"] = await seq(client)
        if "pipe" in opt["only"]:
            result["pipe"] = await pipe(client)
    if "conns" in opt["only"]:
        result["conns"] = await conns()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
