"""Main-thread handlers (docs/dcc.md): ``thread="main"`` commands and event handlers run on
the host's main thread through the app's executor, and the guarantees of every other
handler hold for them: exactly one reply per call, timeouts and cancels answered (a call
ended before its handler started never runs), the same structured errors, and other
handlers keep answering while the main thread is busy.

In this process the "host" is the test's own main thread, running the jobs a host hook
(`CallableExecutor`) or the default executor (`PumpExecutor`) hands it, while the app's
loop and its test client run on a thread of their own. The Qt tests run in a fresh
interpreter (this file, run as a script), because a Qt application with its GLib event
dispatcher owns the process's default GLib context for good, which later window tests in
the same pytest process need: there a real ``QCoreApplication`` runs ``exec()`` on the main
thread (offscreen, no display) and the jobs are queued onto its event loop (`QtExecutor`).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from auroraview import (
    App,
    CallableExecutor,
    CallContext,
    Channel,
    Commands,
    InvokeError,
    InvokeException,
    MainThreadUnavailable,
    PumpExecutor,
    WebView,
)
from auroraview.testing import TestClient

T = TypeVar("T")
HERE = Path(__file__).resolve()


# -- helpers --------------------------------------------------------------------------


class Host:
    """A host application's main thread, played by the test's main thread: `post` is its
    "run this on the main thread later" hook (what ``maya.utils.executeDeferred`` is to
    Maya); `serve` runs the posted jobs until the test's coroutine is done. While
    ``paused`` is clear it is busy with something else and runs none."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.posts = 0
        self.paused = threading.Event()  # set: the main thread runs no job

    def post(self, job: Callable[[], None]) -> None:
        self.posts += 1
        self.jobs.put(job)

    def serve(self, done: threading.Event) -> None:
        while not done.is_set():
            try:
                job = self.jobs.get(timeout=0.01)
            except queue.Empty:
                continue
            while self.paused.is_set() and not done.is_set():
                time.sleep(0.001)  # busy: the job waits
            job()


def hosting(app: App, work: Callable[[TestClient], Coroutine[Any, Any, T]], pump: Callable[[threading.Event], None]) -> T:
    """Run ``work(client)`` with a test client of ``app`` on a loop in another thread, while
    this (the main) thread runs ``pump(done)`` as the host's main thread; its result."""
    assert threading.current_thread() is threading.main_thread()
    done = threading.Event()
    box: dict[str, Any] = {}

    async def go() -> None:
        async with TestClient(app) as client:
            counted = count_replies(client)
            box["counts"] = counted
            box["value"] = await work(client)

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:  # noqa: BLE001 - raised again on the main thread
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run, name="test-loop")
    thread.start()
    try:
        pump(done)
    finally:
        done.set()
        thread.join(30)
    if "error" in box:
        raise box["error"]
    return box["value"]


class _CountingConn:
    """A test client's connection that counts the replies (``call_result`` frames) per id."""

    def __init__(self, conn: Any, counts: collections.Counter[int]) -> None:
        self._conn, self.counts = conn, counts
        self.counting = True  # off: frames pass through untouched (a timed burst)

    def take(self, n: int) -> list[bytes]:
        frames: list[bytes] = self._conn.take(n)
        for frame in frames if self.counting else ():
            if frame[:1] != b"\x00":
                msg = json.loads(frame)
                if msg["type"] == "call_result":
                    self.counts[msg["id"]] += 1
        return frames

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def count_replies(client: TestClient) -> collections.Counter[int]:
    counts: collections.Counter[int] = collections.Counter()
    client._conn = _CountingConn(client._conn, counts)  # type: ignore[assignment]
    return counts


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.002)


async def round_trip(client: TestClient) -> None:
    """Every op queued before now (a cancel, say) has been handled by the runtime: a call
    queued after it was answered, and the runtime takes ops in order."""
    assert await client.call("ping") == "pong"


async def main_jobs_left(client: TestClient, n: int) -> None:
    """Wait until the runtime holds ``n`` main-thread jobs (queued or running): a cancel or
    timeout has reached it. The router sends the call's reply first and queues the cancel
    for the runtime a moment later, so a reply (or a later round trip) is not proof."""
    runtime = client.runtime
    await until(lambda: len(runtime._main_jobs) == n)


def hosted(commands: Commands) -> tuple[App, Host]:
    host = Host()
    return App(commands, main_thread=host.post), host


def base_commands() -> Commands:
    commands = Commands()

    @commands.command()
    async def ping() -> str:
        return "pong"

    return commands


# -- where handlers run -------------------------------------------------------------------


def test_host_hook_runs_main_thread_handlers_on_the_main_thread_and_others_where_they_were() -> None:
    commands = base_commands()
    seen: dict[str, list[str]] = collections.defaultdict(list)

    @commands.command(thread="main")
    def on_main(x: int) -> int:
        seen["main"].append(threading.current_thread().name)
        return x * 2

    @commands.command()
    def on_worker(x: int) -> int:
        seen["worker"].append(threading.current_thread().name)
        return x

    @commands.command()
    async def on_loop(x: int) -> int:
        seen["loop"].append(threading.current_thread().name)
        return x

    @commands.on("main_event", thread="main")
    def main_event(n: int) -> None:
        seen["main_event"].append(f"{threading.current_thread().name}:{n}")

    @commands.on("loop_event")
    async def loop_event(n: int) -> None:
        seen["loop_event"].append(threading.current_thread().name)

    app, host = hosted(commands)
    assert isinstance(app.main_thread, CallableExecutor) and app.main_thread.post == host.post

    async def work(client: TestClient) -> list[int]:
        out = [await client.call("on_main", {"x": i}) for i in range(3)]
        await client.call("on_worker", {"x": 1})
        await client.call("on_loop", {"x": 1})
        for n in range(3):
            await client.send_event("main_event", n)  # waits until the handler ran
        await client.send_event("loop_event", 0)
        return out

    assert hosting(app, work, host.serve) == [0, 2, 4]
    assert seen["main"] == ["MainThread"] * 3
    assert seen["main_event"] == ["MainThread:0", "MainThread:1", "MainThread:2"]
    assert seen["worker"][0].startswith("auroraview-sync")
    assert seen["loop"] == ["test-loop"] and seen["loop_event"] == ["test-loop"]


def test_default_executor_runs_them_on_the_thread_that_pumps() -> None:
    commands = base_commands()
    threads: list[threading.Thread] = []

    @commands.command(thread="main")
    def where() -> bool:
        threads.append(threading.current_thread())
        return True

    app = App(commands)
    executor = app.main_thread
    assert isinstance(executor, PumpExecutor) and not executor.pumping and executor.thread_ident is None

    def pump(done: threading.Event) -> None:
        while not done.is_set():
            app.pump_main_thread(0.01)

    assert app.pump_main_thread() == 0  # this thread pumps from now on: calls are queued for it
    assert executor.pumping

    async def work(client: TestClient) -> list[bool]:
        return [await client.call("where") for _ in range(5)]

    assert hosting(app, work, pump) == [True] * 5
    assert threads == [threading.main_thread()] * 5
    assert executor.pumping and executor.thread_ident == threading.main_thread().ident


def test_default_executor_refuses_at_once_while_nothing_pumps(caplog: pytest.LogCaptureFixture) -> None:
    commands = base_commands()
    ran: list[str] = []

    @commands.command(thread="main")
    def touch_scene() -> None:
        ran.append("command")

    @commands.on("changed", thread="main")
    def changed() -> None:
        ran.append("event")

    async def main() -> None:
        async with TestClient(commands) as client:
            counts = count_replies(client)
            for _ in range(3):
                with pytest.raises(InvokeError) as err:
                    await client.call("touch_scene")
                assert err.value.code == "unavailable" and err.value.name == "Unavailable"
                assert "thread='main'" in err.value.message and "pump_main_thread()" in err.value.message
                assert "docs/dcc.md" in err.value.message
            await client.send_event("changed")  # returns: the handler was refused, not queued
            assert await client.call("ping") == "pong"
            client._drain_frames()
            assert sorted(counts.values()) == [1, 1, 1, 1]

    asyncio.run(main())
    assert ran == []
    refusals = [r for r in caplog.records if "did not run" in r.getMessage() and "touch_scene" in r.getMessage()]
    assert len(refusals) == 1  # logged once, not per call
    assert any("changed" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_host_hook_that_raises_answers_unavailable() -> None:
    commands = base_commands()

    @commands.command(thread="main")
    def touch_scene() -> None:
        raise AssertionError("must not run")

    def broken(job: Callable[[], None]) -> None:
        raise RuntimeError("the host is shutting down")

    async def main() -> None:
        async with TestClient(App(commands, main_thread=broken)) as client:
            with pytest.raises(InvokeError) as err:
                await client.call("touch_scene")
            assert err.value.code == "unavailable"
            assert "the host is shutting down" in err.value.message
            assert await client.call("ping") == "pong"

    asyncio.run(main())


# -- timeouts, cancels, one reply ------------------------------------------------------------


def test_timeout_while_queued_answers_once_and_the_handler_never_runs() -> None:
    commands = base_commands()
    ran: list[int] = []

    @commands.command(thread="main", timeout=0.2)
    def slow_to_start(i: int) -> int:
        ran.append(i)
        return i

    @commands.command(thread="main")  # no timeout: however slow the (loaded) main thread
    def no_timeout(i: int) -> int:
        ran.append(i)
        return i

    app, host = hosted(commands)
    host.paused.set()  # the main thread is busy: nothing it was handed runs yet

    async def work(client: TestClient) -> None:
        counts = client._conn.counts  # type: ignore[union-attr]
        with pytest.raises(InvokeError) as err:
            await client.call("slow_to_start", {"i": 1})
        assert err.value.code == "timeout"
        await main_jobs_left(client, 0)  # the runtime has seen the timeout's cancel
        host.paused.clear()  # the main thread is free again: the queued job comes up
        await until(lambda: host.jobs.empty())
        await asyncio.sleep(0.05)
        assert await client.call("no_timeout", {"i": 2}) == 2  # the main thread works
        client._drain_frames()
        assert list(counts.values()) == [1, 1]
        assert client.stats()["late_results"] == 0

    hosting(app, work, host.serve)
    assert ran == [2]


def test_timeout_while_running_answers_once_and_drops_the_late_result() -> None:
    commands = base_commands()
    release = threading.Event()
    finished: list[str] = []

    started = threading.Event()

    @commands.command(thread="main", timeout=0.5)
    def long_running() -> str:
        started.set()
        release.wait(30)
        finished.append("done")
        return "too late"

    app, host = hosted(commands)

    async def work(client: TestClient) -> None:
        counts = client._conn.counts  # type: ignore[union-attr]
        runtime = client.runtime
        # The timeout must pass while the handler runs: a loaded main thread may not start it
        # within the timeout, and then it was a queued timeout (never run, tested above). Such
        # an attempt is retried, decided by the handler's own `started`, not by a clock.
        for _attempt in range(20):
            with pytest.raises(InvokeError) as err:
                await client.call("long_running")
            assert err.value.code == "timeout"
            await until(lambda: started.is_set() or not runtime._main_jobs, 30)
            if started.is_set():
                break
        assert started.is_set(), "the main thread never started the handler within its timeout in 20 attempts"
        assert finished == []  # answered while the handler still ran
        assert await client.call("ping") == "pong"  # and the app answers meanwhile
        release.set()
        await until(lambda: client.stats()["late_results"] == 1)
        await asyncio.sleep(0.05)
        client._drain_frames()
        assert list(counts.values()) == [1, 1]

    hosting(app, work, host.serve)
    assert finished == ["done"]


def test_a_call_cancelled_before_it_started_never_runs() -> None:
    commands = base_commands()
    ran: list[int] = []

    @commands.command(thread="main")
    def queued(i: int) -> int:
        ran.append(i)
        return i

    app, host = hosted(commands)
    host.paused.set()

    async def work(client: TestClient) -> None:
        counts = client._conn.counts  # type: ignore[union-attr]
        first = asyncio.ensure_future(client.call("queued", {"i": 1}))
        second = asyncio.ensure_future(client.call("queued", {"i": 2}))
        third = asyncio.ensure_future(client.call("queued", {"i": 3}))
        await round_trip(client)  # all three are queued for the main thread
        assert host.posts >= 1 and ran == []
        second.cancel()  # sends `cancel`, as an AbortSignal does
        with pytest.raises(asyncio.CancelledError):
            await second
        await main_jobs_left(client, 2)  # the runtime has seen the cancel
        host.paused.clear()
        assert await first == 1 and await third == 3
        await asyncio.sleep(0.05)
        client._drain_frames()
        assert sorted(counts.values()) == [1, 1, 1, 1]  # a ping, three calls (one cancelled)
        assert client.stats()["cancelled"] == 1 and client.stats()["late_results"] == 0

    hosting(app, work, host.serve)
    assert ran == [1, 3]


def test_a_running_handler_sees_its_call_cancelled_through_its_context() -> None:
    commands = base_commands()
    started = threading.Event()
    outcome: list[bool] = []

    @commands.command(thread="main")
    def cooperative(ctx: CallContext) -> str:
        started.set()
        outcome.append(ctx.wait_cancelled(10))  # a sync handler cannot be interrupted: it polls
        return "stopped early"

    app, host = hosted(commands)

    async def work(client: TestClient) -> None:
        call = asyncio.ensure_future(client.call("cooperative"))
        await asyncio.to_thread(started.wait, 10)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await until(lambda: client.stats()["late_results"] == 1)

    hosting(app, work, host.serve)
    assert outcome == [True]


def test_a_burst_of_a_thousand_calls_gets_one_reply_each_in_order() -> None:
    commands = base_commands()
    order: list[int] = []

    @commands.command(thread="main")
    def step(i: int) -> int:
        order.append(i)
        return i * i

    app, host = hosted(commands)

    async def work(client: TestClient) -> None:
        counts = client._conn.counts  # type: ignore[union-attr]
        results = await asyncio.gather(*(client.call("step", {"i": i}) for i in range(1000)))
        assert results == [i * i for i in range(1000)]
        await asyncio.sleep(0.05)
        client._drain_frames()
        assert len(counts) == 1000 and set(counts.values()) == {1}
        stats = client.stats()
        assert stats["late_results"] == 0 and stats["calls_accepted"] == 1000

    hosting(app, work, host.serve)
    assert order == list(range(1000))  # in the order the calls came
    # Handed over as drains, not one post per call.
    assert 1 <= host.posts < 1000, host.posts


def test_a_drain_gives_the_host_loop_its_turn_between_slow_jobs() -> None:
    commands = base_commands()

    @commands.command(thread="main")
    def two_ms(i: int) -> int:
        time.sleep(0.002)
        return i

    app, host = hosted(commands)

    async def work(client: TestClient) -> None:
        assert await asyncio.gather(*(client.call("two_ms", {"i": i}) for i in range(50))) == list(range(50))

    hosting(app, work, host.serve)
    # A drain stops once it has run DRAIN_BUDGET (4 ms): at most 2 jobs of >= 2 ms each, so
    # the host got at least 25 turns in between (one run of all 50 would be one post).
    assert host.posts >= 25, host.posts


def test_other_handlers_answer_while_the_main_thread_is_busy() -> None:
    commands = base_commands()
    busy = threading.Event()
    release = threading.Event()
    released: list[bool] = []

    @commands.command(thread="main")
    def rebuild_scene() -> str:
        busy.set()
        released.append(release.wait(20))
        return "rebuilt"

    @commands.command(thread="main")
    def after() -> str:
        return "after"

    @commands.command()
    def sync_echo(i: int) -> int:
        return i

    @commands.command()
    async def async_echo(i: int) -> int:
        await asyncio.sleep(0)
        return i

    app, host = hosted(commands)

    async def work(client: TestClient) -> None:
        slow = asyncio.ensure_future(client.call("rebuild_scene"))
        queued = asyncio.ensure_future(client.call("after"))
        await asyncio.to_thread(busy.wait, 10)
        # The main thread is held by rebuild_scene; every other handler answers meanwhile.
        for i in range(50):
            assert await client.call("async_echo", {"i": i}) == i
            assert await client.call("sync_echo", {"i": i}) == i
        assert not slow.done() and not queued.done()
        release.set()
        assert await slow == "rebuilt" and await queued == "after"

    hosting(app, work, host.serve)
    assert released == [True]  # released by the test, after the other calls: not by its timeout


# -- errors ---------------------------------------------------------------------------


class NameTaken(InvokeException):
    code = "name_taken"


class Taken(BaseModel):
    name: str


def test_errors_reach_the_caller_as_from_any_other_handler() -> None:
    commands = base_commands()

    def make(thread: Any) -> None:
        suffix = "main" if thread else "worker"

        @commands.command(f"declared_{suffix}", thread=thread, errors=[NameTaken])
        def declared(name: str) -> None:
            raise NameTaken(f"{name} exists", data=Taken(name=name))

        @commands.command(f"crash_{suffix}", thread=thread)
        def crash() -> None:
            raise ValueError("no such node")

        @commands.command(f"typed_{suffix}", thread=thread)
        def typed(n: int) -> int:
            return n

    make("main")
    make(None)
    app, host = hosted(commands)

    async def fail(client: TestClient, method: str, params: Any) -> tuple[str, str, str, Any]:
        with pytest.raises(InvokeError) as err:
            await client.call(method, params)
        e = err.value
        return e.name, e.code, e.message, e.data

    async def work(client: TestClient) -> None:
        for method, params in [("declared", {"name": "cube"}), ("crash", None), ("typed", {"n": "x"})]:
            main = await fail(client, f"{method}_main", params)
            worker = await fail(client, f"{method}_worker", params)
            assert main == tuple(w.replace(f"{method}_worker", f"{method}_main") if isinstance(w, str) else w for w in worker)
        assert (await fail(client, "declared_main", {"name": "a"}))[:2] == ("NameTaken", "name_taken")
        assert (await fail(client, "crash_main", None))[:3] == ("ValueError", "internal", "no such node")

    hosting(app, work, host.serve)


# -- registration ------------------------------------------------------------------------


def test_what_cannot_run_on_the_main_thread_is_refused_when_registered() -> None:
    commands = Commands()

    async def coro() -> None: ...

    async def agen() -> Any:
        yield 1

    def gen() -> Any:
        yield 1

    def channel(out: Channel[int]) -> None: ...

    with pytest.raises(TypeError, match=r"async.*run_in_main_thread"):
        commands.command(thread="main")(coro)
    with pytest.raises(TypeError, match="async"):
        commands.command(thread="main")(agen)
    with pytest.raises(TypeError, match="stream"):
        commands.command(thread="main")(gen)
    with pytest.raises(TypeError, match="channel"):
        commands.command(thread="main")(channel)
    with pytest.raises(TypeError, match=r"async.*run_in_main_thread"):
        commands.on("e", thread="main")(coro)
    with pytest.raises(ValueError, match="thread="):
        commands.command(thread="worker")(gen)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="thread="):
        commands.on("e", thread="loop")  # type: ignore[arg-type]
    assert len(commands) == 0 and commands.handlers("e") == []
    assert not commands._uses_main_thread()

    @commands.on("e", thread="main")
    def fine() -> None: ...

    assert commands._uses_main_thread()
    with pytest.raises(TypeError, match="main_thread="):
        App(Commands(), main_thread=42)  # type: ignore[arg-type]


def test_a_window_passes_its_executor_to_the_app_it_makes_and_checks_an_existing_one() -> None:
    def hook(job: Callable[[], None]) -> None: ...

    view = WebView(html="<p>x</p>", main_thread=hook)
    assert isinstance(view.app.main_thread, CallableExecutor) and view.app.main_thread.post is hook
    app = App(Commands(), main_thread=hook)
    assert WebView(html="", app=app, main_thread=hook).app is app
    with pytest.raises(ValueError, match="main_thread="):
        _ = WebView(html="", app=app, main_thread=lambda job: None).app
    with pytest.raises(TypeError, match="pump_main_thread"):
        app.pump_main_thread()

    class Host:
        def defer(self, job: Callable[[], None]) -> None: ...

    host = Host()
    bound = App(Commands(), main_thread=host.defer)  # each `host.defer` is a new, equal, object
    assert WebView(html="", app=bound, main_thread=host.defer).app is bound


# -- an async handler calling the host -----------------------------------------------------


def test_run_in_main_thread_from_an_async_handler() -> None:
    commands = base_commands()
    app, host = hosted(commands)
    ran: list[str] = []

    def host_api(name: str) -> str:
        ran.append(name)
        if name == "bad":
            raise LookupError(name)
        return threading.current_thread().name

    @commands.command()  # no timeout: however slow the (loaded) main thread
    async def export(name: str) -> str:
        await asyncio.sleep(0)
        return await app.run_in_main_thread(host_api, name)

    @commands.command(timeout=0.2)
    async def export_soon(name: str) -> str:
        return await app.run_in_main_thread(host_api, name)

    async def work(client: TestClient) -> None:
        assert await client.call("export", {"name": "a"}) == "MainThread"
        with pytest.raises(InvokeError) as err:
            await client.call("export", {"name": "bad"})
        assert err.value.name == "LookupError"
        # The drain that ran "bad" may still be looking for more jobs (it would run the
        # next one, paused or not): the host pauses once it has returned.
        lane = app._main_lane
        await until(lambda: not lane._posted)
        host.paused.set()
        with pytest.raises(InvokeError) as err:
            await client.call("export_soon", {"name": "never"})  # times out while queued
        assert err.value.code == "timeout"
        # The runtime has heard of the timeout's cancel: the awaiting task has dropped its
        # queued job (state 2) before the main thread is free again.
        await until(lambda: [getattr(job, "state", None) for job in lane._jobs] == [2], 30)
        host.paused.clear()
        assert await client.call("export", {"name": "b"}) == "MainThread"

    hosting(app, work, host.serve)
    assert ran == ["a", "bad", "b"]

    def broken(job: Callable[[], None]) -> None:
        raise RuntimeError("the host is shutting down")

    async def nobody_pumps() -> None:
        with pytest.raises(MainThreadUnavailable):
            await App(Commands()).run_in_main_thread(print)
        with pytest.raises(MainThreadUnavailable, match="the host is shutting down") as err:
            await App(Commands(), main_thread=broken).run_in_main_thread(print)
        assert isinstance(err.value.__cause__, RuntimeError)  # what the host's hook raised

    asyncio.run(nobody_pumps())


def test_a_pump_counts_as_alive_only_for_alive_for_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from auroraview import mainthread

    clock = [1000.0]
    monkeypatch.setattr(mainthread, "_now", lambda: clock[0])
    ran: list[int] = []
    default = PumpExecutor()
    default.pump()
    clock[0] += 3600
    default.submit(lambda: ran.append(0))  # without alive_for: queued for the next pump, however late
    assert default.pump() == 1 and ran == [0]

    executor = PumpExecutor(alive_for=5)
    executor.pump()
    clock[0] += 4
    executor.submit(lambda: ran.append(1))  # pumped 4 s ago: queued
    assert executor.pumping
    clock[0] += 2
    assert not executor.pumping
    with pytest.raises(MainThreadUnavailable, match=r"for 6\.0 s.*alive_for"):
        executor.submit(lambda: ran.append(2))  # 6 s since the last pump: refused at once
    assert executor.pump() == 1 and ran == [0, 1]  # what was queued runs at the next pump
    executor.submit(lambda: ran.append(3))  # and the pump is alive again
    assert executor.pump() == 1 and ran == [0, 1, 3]
    with pytest.raises(ValueError, match="alive_for"):
        PumpExecutor(alive_for=0)


# -- the lane's own robustness ------------------------------------------------------------


def run_posted(posted: list[Callable[[], None]]) -> None:
    while posted:
        posted.pop(0)()


def test_an_exception_escaping_a_job_never_jams_the_queue(caplog: pytest.LogCaptureFixture) -> None:
    from auroraview.mainthread import MainLane

    posted: list[Callable[[], None]] = []
    lane = MainLane(CallableExecutor(posted.append))
    ran: list[int] = []

    def interrupt() -> None:
        raise KeyboardInterrupt  # e.g. Ctrl-C between two jobs

    def boom() -> None:
        raise ValueError("a job that raises")

    lane.put(interrupt)
    lane.put(lambda: ran.append(1))
    with pytest.raises(KeyboardInterrupt):  # raised on, to the host's loop
        posted.pop(0)()
    run_posted(posted)  # the job left behind got a drain of its own
    assert ran == [1]
    lane.put(lambda: ran.append(2))  # and later jobs are handed over, not stuck behind a flag
    run_posted(posted)
    assert ran == [1, 2]
    lane.put(boom)  # an Exception is logged, and the drain goes on
    lane.put(lambda: ran.append(3))
    run_posted(posted)
    assert ran == [1, 2, 3] and "main-thread job raised" in caplog.text

    # The default executor: a job that raises leaves the rest of its batch for the next pump.
    pump = PumpExecutor()
    pump.pump()
    pump.submit(interrupt)
    pump.submit(lambda: ran.append(4))
    with pytest.raises(KeyboardInterrupt):
        pump.pump()
    assert pump.pump() == 1 and ran == [1, 2, 3, 4]


def test_a_failed_hand_over_refuses_what_other_threads_queued_behind_it() -> None:
    from auroraview.mainthread import MainLane

    entered, fail = threading.Event(), threading.Event()

    class Failing:
        def submit(self, job: Callable[[], None], /) -> None:
            entered.set()
            fail.wait(10)
            raise MainThreadUnavailable("the host is gone")

    refused: list[tuple[int, str]] = []

    class Job:
        def __init__(self, n: int) -> None:
            self.n = n

        def __call__(self) -> None:
            raise AssertionError("must not run")

        def refuse(self, why: str) -> None:
            refused.append((self.n, why))

    lane = MainLane(Failing())
    errors: list[str] = []

    def first() -> None:
        try:
            lane.put(Job(1))
        except MainThreadUnavailable as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    lane.put(Job(2))  # another thread: queued behind the drain being handed over
    fail.set()
    thread.join(10)
    assert errors == ["the host is gone"]  # the first caller hears it by its exception
    assert refused == [(2, "the host is gone")]  # and the second's job is answered, not stranded
    with pytest.raises(MainThreadUnavailable):  # the next call tries the executor again
        lane.put(Job(3))
    assert refused == [(2, "the host is gone")]


# -- Qt: a real event loop owns the main thread ------------------------------------------------


def run_script(scenario: str, *, env: dict[str, str] | None = None, timeout: float = 120) -> dict[str, Any]:
    """Run a scenario of this file in a fresh interpreter; the JSON it printed last."""
    proc = subprocess.run(
        [sys.executable, str(HERE), scenario],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, f"scenario {scenario} failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def need_pyside6() -> None:
    try:
        import PySide6  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("PySide6 is missing: scripts/requirements-dev.txt installs it, and the Qt tests must run in CI")
        pytest.skip("PySide6 is not installed")


@pytest.fixture(scope="module")
def qt_results() -> dict[str, Any]:
    need_pyside6()
    return run_script("qt", env={"QT_QPA_PLATFORM": "offscreen"})


def test_qt_handlers_run_on_the_main_thread_inside_the_qt_event_loop(qt_results: dict[str, Any]) -> None:
    r = qt_results
    assert r["binding"] == "PySide6"
    assert r["dispatcher"] == "QEventDispatcherGlib"  # Qt's default on Linux, as in the hosts
    assert r["where"] == {"main_thread": True, "qt_thread": True, "in_exec": True}
    assert r["event_where"] == [True, True, True]


def test_qt_burst_one_reply_each_and_the_event_loop_never_stalls(qt_results: dict[str, Any]) -> None:
    r = qt_results["burst"]
    assert r["results_ok"] and r["replies"] == {"1": 1000} and r["late_results"] == 0
    assert r["in_order"]
    # The Qt loop's longest gap between 1 ms timer ticks while 1,000 main-thread calls came in
    # (measured; printed for the record, bounded as issue 14 asks).
    # A first burst above the bound is measured once more (a loaded machine stalls any thread
    # now and then: each attempt's idle figure shows it); the last attempt must be under it.
    for n, a in enumerate(r["attempts"], 1):
        print(
            f"\nQt event-loop stall during a burst of 1,000 main-thread calls (attempt {n}): longest "
            f"{a['stall_ms']:.1f} ms (idle just before: {a['idle_stall_ms']:.1f} ms; {a['ticks']} ticks; burst took "
            f"{a['burst_ms']:.0f} ms, {a['drains']} drains)"
        )
    print(f"the same burst to an async handler: {r['loop_burst_stall_ms']:.1f} ms")
    assert len(r["attempts"]) <= 2 and all(a["stall_ms"] >= 100 for a in r["attempts"][:-1]), r
    assert r["stall_ms"] < 100, r


def test_qt_other_handlers_answer_while_the_main_thread_is_busy(qt_results: dict[str, Any]) -> None:
    r = qt_results["busy"]
    assert r["others_answered_while_busy"] == 100
    assert r["busy_result"] == "rebuilt" and r["queued_result"] == "after"


def test_qt_timeout_and_errors(qt_results: dict[str, Any]) -> None:
    r = qt_results["timeouts"]
    assert r["queued_timeout"] == "timeout" and r["never_ran"]
    assert r["running_timeout"] == "timeout" and r["late_results"] == 1 and r["replies_each"] == [1]
    assert r["error"] == ["NameTaken", "name_taken", "cube exists", {"name": "cube"}]


def test_qt_executor_needs_the_application() -> None:
    need_pyside6()
    r = run_script("qt_no_app", env={"QT_QPA_PLATFORM": "offscreen"})
    assert "create the QApplication" in r["error"]
    assert r["gone"]["code"] == "unavailable" and "Qt application is gone" in r["gone"]["message"]


def test_qt_executor_names_an_unsupported_binding_the_host_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    from auroraview import QtExecutor

    for name in ("PySide6.QtCore", "PyQt6.QtCore"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "PySide2.QtCore", types.ModuleType("PySide2.QtCore"))
    with pytest.raises(MainThreadUnavailable, match=r"PySide2.*host's own main-thread function"):
        QtExecutor()


# -- the default executor under show(): a real window ---------------------------------------------


def test_show_runs_main_thread_handlers_on_its_own_thread() -> None:
    from auroraview import _core
    from auroraview._xvfb import VirtualDisplay

    if not _core.WINDOW_SUPPORT or not VirtualDisplay.available():
        if os.environ.get("CI"):
            pytest.fail("windows need WebKitGTK and Xvfb in CI")
        pytest.skip("no WebKitGTK or Xvfb here")
    with VirtualDisplay():
        r = run_script("window")
        only_async = run_script("window_run_in_main_thread")
    assert r == {"main": True, "loop_not_main": True, "show_returned": True}
    # No thread="main" handler, only an async one calling run_in_main_thread: it runs there too.
    assert only_async == {"main": True, "show_returned": True}


# -- the scenarios run in a fresh interpreter ------------------------------------------------


def scenario_qt() -> dict[str, Any]:
    """Everything under a real Qt event loop: QCoreApplication.exec() on the main thread,
    the app's loop and its test client on another."""
    from PySide6.QtCore import QAbstractEventDispatcher, QCoreApplication, Qt, QThread, QTimer

    from auroraview import QtExecutor

    qapp = QCoreApplication([])
    commands = base_commands()
    in_exec = threading.Event()

    @commands.command(thread="main")
    def where() -> dict[str, bool]:
        return {
            "main_thread": threading.current_thread() is threading.main_thread(),
            "qt_thread": QThread.currentThread() is qapp.thread(),
            "in_exec": in_exec.is_set() and qapp.thread().loopLevel() > 0,
        }

    event_where: list[bool] = []

    @commands.on("touched", thread="main")
    def touched(n: int) -> None:
        event_where.append(threading.current_thread() is threading.main_thread())

    order: list[int] = []

    @commands.command(thread="main")
    def step(i: int) -> int:
        order.append(i)
        return i + 1

    busy = threading.Event()
    release = threading.Event()

    @commands.command(thread="main")
    def rebuild_scene() -> str:
        busy.set()
        end = time.perf_counter() + 20
        # Busy in Python (holding the GIL as a host's scripts do) until the test has its
        # answers; 20 s at most, reported as "not released".
        while not release.is_set() and time.perf_counter() < end:
            pass
        return "rebuilt" if release.is_set() else "not released"

    @commands.command(thread="main")
    def after() -> str:
        return "after"

    @commands.command()
    def sync_echo(i: int) -> int:
        return i

    @commands.command()
    async def async_echo(i: int) -> int:
        return i

    ran: list[str] = []
    holding = threading.Event()
    hold = threading.Event()

    @commands.command(thread="main")
    def holder() -> None:
        holding.set()
        hold.wait(10)

    @commands.command(thread="main", timeout=0.2)
    def quick(tag: str) -> str:
        ran.append(tag)
        return tag

    @commands.command(thread="main")  # no timeout: however slow the (loaded) main thread
    def quick_no_timeout(tag: str) -> str:
        ran.append(tag)
        return tag

    long_started = threading.Event()
    long_release = threading.Event()

    @commands.command(thread="main", timeout=0.5)
    def too_long() -> str:
        long_started.set()
        long_release.wait(30)
        return "late"

    @commands.command(thread="main", errors=[NameTaken])
    def rename(name: str) -> None:
        raise NameTaken(f"{name} exists", data=Taken(name=name))

    executor = QtExecutor()
    app = App(commands, main_thread=executor)
    gaps: list[float] = []
    last = [time.perf_counter()]
    recording = threading.Event()

    def tick() -> None:
        now = time.perf_counter()
        if recording.is_set():
            gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(tick)
    timer.start()
    QTimer.singleShot(0, in_exec.set)  # from the main thread: runs once exec() runs
    out: dict[str, Any] = {"binding": executor.binding}

    async def measure(seconds: float) -> tuple[float, int]:
        gaps.clear()
        recording.set()
        await asyncio.sleep(seconds)
        recording.clear()
        return max(gaps) * 1000, len(gaps)

    async def work() -> None:
        await asyncio.to_thread(in_exec.wait, 10)
        async with TestClient(app) as client:
            counts = count_replies(client)
            out["where"] = await client.call("where")
            for n in range(3):
                await client.send_event("touched", n)
            out["event_where"] = event_where

            # A burst: 1,000 calls at once, each reply counted.
            counts.clear()
            results = await asyncio.gather(*(client.call("step", {"i": i}) for i in range(1000)))
            await asyncio.sleep(0.05)
            client._drain_frames()
            replies = {str(k): v for k, v in collections.Counter(counts.values()).items()}
            in_order = order == list(range(1000))
            # The same burst again, the Qt loop's 1 ms timer ticking all along (the replies
            # not parsed by the counter meanwhile: the test's own Python work on the loop's
            # thread competes with the Qt thread for the GIL, and is not the app's).
            client._conn.counting = False  # type: ignore[union-attr]

            async def timed_burst() -> dict[str, float]:
                idle_stall, _ = await measure(0.3)
                gaps.clear()
                drains = app._main_lane.drains
                recording.set()
                t0 = time.perf_counter()
                await asyncio.gather(*(client.call("step", {"i": i}) for i in range(1000)))
                burst = time.perf_counter() - t0
                await asyncio.sleep(0.05)
                recording.clear()
                return {
                    "stall_ms": max(gaps) * 1000,
                    "ticks": len(gaps),
                    "idle_stall_ms": idle_stall,
                    "burst_ms": burst * 1000,
                    "drains": app._main_lane.drains - drains,
                }

            # One retry when the first burst stalls the loop past the bound: a CI machine busy
            # with other work can stall any thread once (the idle figure of each attempt says
            # how much the machine itself stalled then).
            attempts = [await timed_burst()]
            if attempts[0]["stall_ms"] >= 100:
                attempts.append(await timed_burst())
            # For comparison, the same burst to a handler on the app's loop (the Qt loop only
            # competes with this process's other threads for the GIL and the CPU then).
            loop_gaps: list[float] = []
            gaps.clear()
            recording.set()
            await asyncio.gather(*(client.call("async_echo", {"i": i}) for i in range(1000)))
            await asyncio.sleep(0.05)
            recording.clear()
            loop_gaps = list(gaps)
            client._conn.counting = True  # type: ignore[union-attr]
            out["burst"] = {
                "results_ok": results == [i + 1 for i in range(1000)],
                "in_order": in_order,
                # {replies per call: how many calls}: {"1": 1000} is one reply each.
                "replies": replies,
                "late_results": client.stats()["late_results"],
                **attempts[-1],
                "attempts": attempts,
                "loop_burst_stall_ms": max(loop_gaps) * 1000,
            }

            # A main thread busy until released: other handlers keep answering meanwhile.
            slow = asyncio.ensure_future(client.call("rebuild_scene"))
            queued = asyncio.ensure_future(client.call("after"))
            await asyncio.to_thread(busy.wait, 10)
            answered = 0
            for i in range(50):
                answered += await client.call("async_echo", {"i": i}) == i
                answered += await client.call("sync_echo", {"i": i}) == i
            out["busy"] = {"others_answered_while_busy": answered if not slow.done() else -1}
            release.set()
            out["busy"]["busy_result"] = await slow
            out["busy"]["queued_result"] = await queued

            # Timeouts: queued behind a held main thread, and running past the timeout.
            held = asyncio.ensure_future(client.call("holder"))
            await asyncio.to_thread(holding.wait, 10)
            try:
                await client.call("quick", {"tag": "queued"})
                queued_timeout = "answered"
            except InvokeError as e:
                queued_timeout = e.code
            await main_jobs_left(client, 1)  # only the holder: the runtime has seen the timeout
            hold.set()
            await held
            assert await client.call("quick_no_timeout", {"tag": "after"}) == "after"
            counts.clear()
            late_before = client.stats()["late_results"]
            # The timeout must pass while too_long runs; a loaded Qt thread that did not start
            # it in time made it a queued timeout (never run): retried, decided by the
            # handler's own `long_started`, not by a clock.
            running_timeout = "not started"
            for _attempt in range(20):
                try:
                    await client.call("too_long")
                    running_timeout = "answered"
                    break
                except InvokeError as e:
                    running_timeout = e.code
                await until(lambda: long_started.is_set() or not client.runtime._main_jobs, 30)
                if long_started.is_set():
                    break
                counts.clear()  # that attempt's one reply was counted; this one's alone now
            long_release.set()
            await until(lambda: client.stats()["late_results"] - late_before >= 1, 30)
            await asyncio.sleep(0.05)
            client._drain_frames()
            try:
                await client.call("rename", {"name": "cube"})
                error: Any = None
            except InvokeError as e:
                error = [e.name, e.code, e.message, e.data]
            out["timeouts"] = {
                "queued_timeout": queued_timeout,
                "never_ran": ran == ["after"],
                "running_timeout": running_timeout,
                "late_results": client.stats()["late_results"] - late_before,
                "replies_each": sorted(set(counts.values())),
                "error": error,
            }

    def run() -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            out["error"] = repr(exc)
        finally:
            executor.submit(qapp.quit)  # queued onto the Qt loop, from this thread

    thread = threading.Thread(target=run)
    thread.start()
    dispatcher = QAbstractEventDispatcher.instance()
    out["dispatcher"] = dispatcher.metaObject().className() if dispatcher is not None else None
    qapp.exec()
    thread.join(10)
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


def scenario_qt_no_app() -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication

    from auroraview import QtExecutor

    out: dict[str, Any] = {}
    try:
        QtExecutor()
    except MainThreadUnavailable as exc:
        out["error"] = str(exc)
    qapp = QCoreApplication([])
    executor = QtExecutor()
    qapp.shutdown()  # the host's application is gone
    del qapp
    commands = Commands()

    @commands.command(thread="main")
    def touch() -> None: ...

    async def main() -> None:
        async with TestClient(App(commands, main_thread=executor)) as client:
            try:
                await client.call("touch")
            except InvokeError as e:
                out["gone"] = {"code": e.code, "message": e.message}

    asyncio.run(main())
    return out


def scenario_window() -> dict[str, Any]:
    """show() with the default executor: the page calls a main-thread command, which runs
    on the thread that called show() while the app's loop runs elsewhere."""
    commands = Commands()
    out: dict[str, Any] = {}

    @commands.command(thread="main")
    def where() -> bool:
        return threading.current_thread() is threading.main_thread()

    @commands.command()
    async def report(main: bool | str) -> None:
        out["main"] = main
        out["loop_not_main"] = threading.current_thread() is not threading.main_thread()
        view.close()

    page = (
        "<script>addEventListener('auroraviewready', async () => {"
        " let main; try { main = await window.auroraview.call('where'); } catch (e) { main = String(e.code); }"
        " await window.auroraview.call('report', {main});"
        "});</script>"
    )
    view = WebView(html=page, commands=commands, visible=False)
    view.show()
    out["show_returned"] = True
    return out


def scenario_window_run_in_main_thread() -> dict[str, Any]:
    """show() with the default executor and no thread="main" handler: an async command's
    App.run_in_main_thread still runs on the thread that called show()."""
    commands = Commands()
    out: dict[str, Any] = {}

    @commands.command()
    async def where() -> bool | str:
        try:
            return await view.app.run_in_main_thread(lambda: threading.current_thread() is threading.main_thread())
        except Exception as exc:  # noqa: BLE001 - reported to the test
            return f"{type(exc).__name__}: {exc}"

    @commands.command()
    async def report(main: bool | str) -> None:
        out["main"] = main
        view.close()

    page = (
        "<script>addEventListener('auroraviewready', async () => {"
        " let main; try { main = await window.auroraview.call('where'); } catch (e) { main = String(e.code); }"
        " await window.auroraview.call('report', {main});"
        "});</script>"
    )
    view = WebView(html=page, commands=commands, visible=False)
    view.show()
    out["show_returned"] = True
    return out


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "qt": scenario_qt,
    "qt_no_app": scenario_qt_no_app,
    "window": scenario_window,
    "window_run_in_main_thread": scenario_window_run_in_main_thread,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
