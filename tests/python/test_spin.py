"""The asyncio thread's bounded wait for the next call of a chain (`App(spin_us=)`):
a chain of calls is served by waits, the loop keeps running timers meanwhile, and the
waiting stops once calls stop coming, or never starts while a transport runs on the loop."""

from __future__ import annotations

import asyncio
import json
import select
import threading
import time

import pytest

from auroraview import App, Commands
from auroraview._runtime import Runtime


def make_app(**settings: int) -> App:
    """A fresh registry (a registry has one app) served by an app with ``settings``."""
    commands = Commands()

    @commands.command()
    async def echo(i: int) -> int:
        return i

    @commands.command()
    async def later(i: int) -> int:
        await asyncio.sleep(0.002)
        return i

    return App(commands, **settings)


def sequential_client(conn: object, method: bytes, n: int, replies: dict[int, int]) -> None:
    """Calls one at a time from another thread, as a page does: the next call goes out as
    soon as the previous reply is in."""
    fd = conn.fileno()  # type: ignore[attr-defined]
    for i in range(n):
        conn.send(b'{"type":"call","id":%d,"method":"%s","params":{"i":%d}}' % (i, method, i))  # type: ignore[attr-defined]
        while i not in replies:
            if not select.select([fd], [], [], 5)[0]:
                return  # no reply within 5 s: the test fails on the count
            for frame in conn.take():  # type: ignore[attr-defined]
                msg = json.loads(frame)
                replies[msg["id"]] = msg["result"]


async def run_chain(app: App, method: bytes, n: int) -> tuple[dict[int, int], list[float]]:
    conn = app.core.connect()
    replies: dict[int, int] = {}
    thread = threading.Thread(target=sequential_client, args=(conn, method, n, replies))
    ticks: list[float] = []
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.001)
    thread.join()
    conn.close()
    return replies, ticks


async def test_a_chain_of_calls_is_served_by_waits_while_timers_keep_running() -> None:
    app = make_app(spin_us=2000)
    runtime = app._attach(in_loop=False)  # the client runs on another thread, like a page
    try:
        replies, ticks = await run_chain(app, b"echo", 3000)
        assert replies == {i: i for i in range(3000)}
        # Most calls of the chain were picked up by a wait, not by a wake-up of the loop.
        assert runtime.spin_hits > 1500, (runtime.spin_hits, runtime.spin_misses)
        # Waits run as their own callbacks: the loop's timers fired all along the chain.
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert len(ticks) > 3 and max(gaps) < 0.05, f"loop stalled {max(gaps) * 1000:.1f} ms"
        # Once the chain ends, one wait runs out and the loop goes back to sleep.
        await asyncio.sleep(0.05)
        hits, misses = runtime.spin_hits, runtime.spin_misses
        assert misses >= 1
        await asyncio.sleep(0.2)
        assert (runtime.spin_hits, runtime.spin_misses) == (hits, misses), "an idle loop kept waiting"
    finally:
        await app._detach(in_loop=False)


@pytest.mark.parametrize(
    ("spin_us", "method", "shared_loop"),
    [
        # A handler that suspends needs the loop to finish: waiting would only delay it.
        pytest.param(2000, b"later", False, id="handler-suspended"),
        # A transport on the same loop (an in-process client) could not send its next call
        # while the loop waits for it.
        pytest.param(2000, b"echo", True, id="transport-on-the-loop"),
        pytest.param(0, b"echo", False, id="off"),
    ],
)
async def test_no_wait(spin_us: int, method: bytes, shared_loop: bool) -> None:
    app = make_app(spin_us=spin_us)
    runtime = app._attach(in_loop=False)
    if shared_loop:
        app._attach(in_loop=True)
    try:
        replies, _ = await run_chain(app, method, 100)
        assert replies == {i: i for i in range(100)}
        assert runtime.spin_hits == runtime.spin_misses == 0
    finally:
        if shared_loop:
            await app._detach(in_loop=True)
        await app._detach(in_loop=False)


@pytest.mark.parametrize("bad", [-1, 10_001])
def test_spin_us_is_bounded(bad: int) -> None:
    with pytest.raises(ValueError, match="spin_us"):
        make_app(spin_us=bad)
    with pytest.raises(ValueError, match="spin_us"):
        Runtime(make_app().core, [], lambda name: [], spin_us=bad)


@pytest.mark.parametrize(("ops", "waits"), [(1, True), (2, False), (100, False)])
async def test_a_wait_follows_a_lone_call_not_a_batch_of_several(ops: int, waits: bool) -> None:
    # A chain of sequential calls arrives one at a time; a batch of several means calls in
    # bulk, whose next batch a wait would only compete with for a core. (Acks of a call that
    # is not running stand in for the ops: they are handled and do nothing.)
    runtime = Runtime(make_app().core, [], lambda name: [], spin_us=2000)
    runtime._run_ops(asyncio.get_running_loop(), [(3, 12345, 1)] * ops, True)  # pyright: ignore[reportPrivateUsage]
    assert runtime._spin_scheduled is waits  # pyright: ignore[reportPrivateUsage]
