"""Faults in handlers (RELIABILITY.md cases 13, 26, 27): every call gets its one reply whatever
a handler raises; `BaseException`s have one behaviour for sync and async handlers; a handler
that never returns cannot hold up the interpreter's exit; the test client is never blocked by
a stuck event handler.

The behaviour under test (docs/ARCHITECTURE.md, "Faults in handlers"): the call is answered
`internal`, named after the exception's class; `KeyboardInterrupt` and `SystemExit` then stop
the app (here, in the test client: re-raised by `aclose()`), any other `BaseException` is
logged and the app goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from auroraview import App, Commands, InvokeError
from auroraview.testing import TestClient


class Custom(BaseException):
    """A BaseException that is neither an Exception nor one Python treats specially."""


KINDS: dict[str, Callable[[], BaseException]] = {
    "generator_exit": GeneratorExit,
    "custom": lambda: Custom("custom stop"),
    "keyboard_interrupt": KeyboardInterrupt,
    "system_exit": lambda: SystemExit(3),
}
STOPS = {"keyboard_interrupt", "system_exit"}


def faulty() -> Commands:
    commands = Commands()

    @commands.command()
    async def async_early(kind: str) -> None:
        raise KINDS[kind]()  # before the first await: the runtime's eager first step

    @commands.command()
    async def async_late(kind: str) -> None:
        await asyncio.sleep(0.001)
        raise KINDS[kind]()  # from the task

    @commands.command()
    def sync_raise(kind: str) -> None:
        raise KINDS[kind]()  # on a worker thread

    @commands.command()
    async def ok(i: int) -> int:
        return i

    @commands.command()
    async def ok_late(i: int) -> int:
        await asyncio.sleep(0.001)
        return i

    @commands.command()
    def ok_sync(i: int) -> int:
        return i

    return commands


# -- every call gets its reply (case 27) -------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_a_base_exception_before_the_first_await_loses_no_other_reply(kind: str) -> None:
    commands = faulty()
    raised: BaseException | None = None
    results: list[Any] = []
    try:
        async with TestClient(commands) as client:
            # One dispatch batch (up to 32 ops): the calls are all queued before the runtime
            # drains, the faulty one in the middle.
            calls: list[Coroutine[Any, Any, Any]] = []
            for i in range(20):
                if i == 7:
                    calls.append(client.call("async_early", {"kind": kind}))
                else:
                    calls.append(client.call(("ok", "ok_late", "ok_sync")[i % 3], {"i": i}))
            results = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 2)
            assert await client.call("ok", {"i": 99}) == 99, "the app still serves"
    except (KeyboardInterrupt, SystemExit) as exc:
        raised = exc
    error = results[7]
    assert isinstance(error, InvokeError), results
    assert (error.code, error.name) == ("internal", type(KINDS[kind]()).__name__)
    assert results[:7] + results[8:] == [i for i in range(20) if i != 7]
    assert (raised is not None) == (kind in STOPS)


# -- one behaviour for sync and async handlers (case 27) -------------------------------------


@pytest.mark.parametrize("method", ["async_early", "async_late", "sync_raise"])
@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_base_exceptions_are_answered_then_stop_or_continue(
    method: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    commands = faulty()
    expected = KINDS[kind]()
    client = TestClient(commands)
    await client.__aenter__()
    try:
        with pytest.raises(InvokeError) as info:
            await asyncio.wait_for(client.call(method, {"kind": kind}), 2)
        # Answered first, with a structured error named after the exception.
        assert (info.value.code, info.value.name) == ("internal", type(expected).__name__)
        assert info.value.message == f"the handler raised {expected!r}"
        # Other calls are still answered, before and after: the client keeps serving until closed.
        assert await asyncio.wait_for(client.call("ok_sync", {"i": 1}), 2) == 1
        assert await asyncio.wait_for(client.call("ok_late", {"i": 2}), 2) == 2
    finally:
        if kind in STOPS:
            # KeyboardInterrupt / SystemExit stop the app: the client re-raises it as it closes.
            with pytest.raises(type(expected)) as stopped:
                await client.aclose()
            assert repr(stopped.value) == repr(expected)
        else:
            await client.aclose()  # any other BaseException: logged, the app goes on
    assert method in caplog.text and type(expected).__name__ in caplog.text


async def test_base_exceptions_in_event_handlers_behave_the_same() -> None:
    commands = Commands()
    seen: list[str] = []

    @commands.on("stop_async")
    async def stop_async() -> None:
        raise SystemExit(4)

    @commands.on("stop_sync")
    def stop_sync() -> None:
        raise KeyboardInterrupt

    @commands.on("odd")
    async def odd() -> None:
        raise GeneratorExit

    @commands.on("tick")
    def tick() -> None:
        seen.append("tick")

    with pytest.raises(SystemExit) as info:
        async with TestClient(commands) as client:
            await asyncio.wait_for(client.send_event("odd"), 2)
            await asyncio.wait_for(client.send_event("stop_async"), 2)
            await asyncio.wait_for(client.send_event("stop_sync"), 2)  # the first stop wins
            await asyncio.wait_for(client.send_event("tick"), 2)
    assert info.value.code == 4
    assert seen == ["tick"]


# -- shutdown never hangs (cases 13, 26) -------------------------------------------------------

STUCK = """
import asyncio, threading, time
from auroraview import App, Commands
from auroraview.testing import TestClient

commands = Commands()
App(commands, shutdown_grace={grace})

@commands.command()
def stuck_forever() -> None:
    threading.Event().wait()

@commands.on("stuck_event")
def stuck_event() -> None:
    threading.Event().wait()

@commands.command()
async def quick() -> int:
    return 1

async def main():
    client = TestClient(commands)
    await client.__aenter__()
    pending = asyncio.ensure_future(client.call("stuck_forever"))
    pending.add_done_callback(lambda t: t.cancelled() or t.exception())
    asyncio.ensure_future(client.send_event("stuck_event"))
    await asyncio.sleep(0.2)
    assert await client.call("quick") == 1
    {close}
    print("main returned", flush=True)

asyncio.run(main())
"""


@pytest.mark.parametrize("close", ["await client.aclose()", "pass"], ids=["closed", "left_open"])
def test_a_sync_handler_that_never_returns_does_not_hold_up_exit(close: str) -> None:
    grace = 1.0
    script = STUCK.format(grace=grace, close=close)
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the process did not exit: {exc.stderr!r}") from None
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "main returned"
    # Interpreter start-up and imports take ~0.5 s here; the bound is grace + 1 s beyond them.
    assert elapsed < grace + 1 + 1.5, elapsed
    # The abandoned handlers are reported, by name, with how long they ran.
    assert "'stuck_forever'" in proc.stderr and "abandon" in proc.stderr, proc.stderr
    assert "stuck_event" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Event loop is closed" not in proc.stderr, proc.stderr


async def test_stop_reports_a_stuck_sync_handler_after_the_grace(caplog: pytest.LogCaptureFixture) -> None:
    commands = Commands()
    release = threading.Event()

    @commands.command()
    def wedged() -> None:
        release.wait(10)

    App(commands, shutdown_grace=0.3)
    client = TestClient(commands)
    await client.__aenter__()
    pending = asyncio.ensure_future(client.call("wedged"))
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="auroraview"):
        await client.aclose()
    assert 0.25 <= time.perf_counter() - started < 1.0
    assert "'wedged'" in caplog.text and "abandon" in caplog.text
    release.set()
    with pytest.raises(InvokeError):
        await pending


def test_sync_workers_are_daemon_threads_bounded_in_number() -> None:
    from auroraview._runtime import _Workers  # pyright: ignore[reportPrivateUsage]

    gate = threading.Event()
    running: list[int] = []
    workers = _Workers(3, "auroraview-test")

    def job(i: int) -> None:
        running.append(i)
        gate.wait(5)

    for i in range(10):
        workers.submit(job, i)
    deadline = time.monotonic() + 2
    while len(running) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    assert len(running) == 3, running  # bounded: 3 at a time
    names = [t for t in threading.enumerate() if t.name.startswith("auroraview-test")]
    assert len(names) == 3 and all(t.daemon for t in names)
    gate.set()
    deadline = time.monotonic() + 2
    while len(running) < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert sorted(running) == list(range(10))
    workers.shutdown(wait=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("auroraview-test")]


# -- the test client: stuck event handlers, hello (issue 10) ------------------------------------


async def test_a_stuck_async_event_handler_does_not_block_later_send_events() -> None:
    commands = Commands()
    ticks: list[int] = []

    @commands.on("stuck")
    async def stuck() -> None:
        await asyncio.Event().wait()

    @commands.on("tick")
    async def tick(n: int) -> None:
        await asyncio.sleep(0.001)
        ticks.append(n)

    @commands.on("tick_sync")
    def tick_sync(n: int) -> None:
        ticks.append(n)

    async with TestClient(commands) as client:
        first = asyncio.ensure_future(client.send_event("stuck"))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        for n in range(3):
            await asyncio.wait_for(client.send_event("tick", n), 1)
        await asyncio.wait_for(client.send_event("tick_sync", 3), 1)
        assert await asyncio.wait_for(client.send_raw('{"type":"event","event":"tick","detail":4}'), 1) is None
        assert time.perf_counter() - started < 1
        assert ticks == [0, 1, 2, 3, 4]  # each send_event waited for its own handlers
        assert not first.done()  # the stuck one's own send_event still waits for it
        first.cancel()


async def test_send_raw_of_a_hello_returns_at_once() -> None:
    commands = Commands()

    @commands.command()
    async def ok() -> int:
        return 1

    async with TestClient(commands) as client:
        started = time.perf_counter()
        hello = '{"type":"hello","key":"0123456789abcdef0123456789abcdef"}'
        assert await asyncio.wait_for(client.send_raw(hello), 1) is None
        assert time.perf_counter() - started < 0.5
        assert await client.call("ok") == 1


async def test_system_exit_in_a_handler_closes_the_apps_servers() -> None:
    commands = faulty()
    app = App(commands)
    server = app.serve()
    try:
        with pytest.raises(SystemExit) as info:
            async with TestClient(app) as client:
                with pytest.raises(InvokeError):
                    await client.call("sync_raise", {"kind": "system_exit"})
                for _ in range(200):  # closed from the app's loop, soon after the reply
                    if server.closed:
                        break
                    await asyncio.sleep(0.01)
                assert server.closed
        assert info.value.code == 3
        assert app.servers == []
    finally:
        server.close()


async def test_a_destroyed_handler_task_is_answered_quietly(caplog: pytest.LogCaptureFixture) -> None:
    # A pending task destroyed (its coroutine closed, as at interpreter exit) is not the
    # handler raising GeneratorExit: answered, nothing logged, the coroutine closes cleanly.
    commands = Commands()
    cleaned: list[str] = []

    @commands.command()
    async def parked() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("finally")

    async with TestClient(commands) as client:
        call = asyncio.ensure_future(client.call("parked"))
        while not client.runtime._tasks:  # pyright: ignore[reportPrivateUsage]
            await asyncio.sleep(0.001)
        (task,) = client.runtime._tasks.values()  # pyright: ignore[reportPrivateUsage]
        task.get_coro().close()  # type: ignore[union-attr]
        with pytest.raises(InvokeError) as info:
            await asyncio.wait_for(call, 2)
        assert (info.value.code, info.value.message) == ("internal", "the handler's task was destroyed")
        assert cleaned == ["finally"]
        task.cancel()  # the task itself, its coroutine gone, ends with an error: retrieve it
        with contextlib.suppress(BaseException):
            await task
    assert "GeneratorExit" not in caplog.text and "ignored" not in caplog.text


async def test_a_sync_call_queued_behind_a_stuck_handler_is_answered_when_the_runtime_stops() -> None:
    # One worker, stuck: the next sync call waits in the queue. A connection that outlives
    # the runtime (here a raw one; the test client only runs the runtime) kept that call in
    # flight for good when the runtime stopped and dropped the job; now it is answered.
    commands = Commands()
    release = threading.Event()

    @commands.command()
    def stuck() -> str:
        release.wait(10)
        return "late"

    @commands.command()
    def queued() -> str:
        return "never"

    app = App(commands, sync_workers=1, shutdown_grace=0.2)
    client = TestClient(app)
    await client.__aenter__()
    raw = app.core.connect()
    raw.send(b'{"type":"call","id":1,"method":"stuck"}')
    raw.send(b'{"type":"call","id":2,"method":"queued"}')
    for _ in range(200):
        if app.core.in_flight == 2:
            break
        await asyncio.sleep(0.01)
    assert app.core.in_flight == 2
    await client.aclose()  # the runtime stops; `stuck` is abandoned, `queued` never started
    release.set()
    replies: dict[int, Any] = {}
    for _ in range(300):
        for frame in raw.take():
            msg = json.loads(frame)
            replies[msg["id"]] = msg
        if len(replies) == 2:
            break
        await asyncio.sleep(0.01)
    raw.close()
    assert replies[2]["error"]["code"] == "shutting_down", replies
    assert replies[1]["result"] == "late"
    assert app.core.in_flight == 0
