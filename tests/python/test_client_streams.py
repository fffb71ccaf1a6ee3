"""Streams and channels (docs/streams.md) through the Python network client
(`auroraview.client`), against a real server: an `App` served on a loopback port; and the
client's side of the wire (acknowledgements, items out of sequence) against a scripted host."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_core import from_json, to_json
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

import auroraview
from auroraview import STREAM_WINDOW, Channel, Commands, InvokeError, InvokeException
from auroraview._core import PROTOCOL_VERSION
from auroraview.client import connect, connect_async

pytestmark = pytest.mark.timeout(30)


class Progress(BaseModel):
    done: int
    total: int


class Boom(InvokeException):
    code = "boom"


@dataclass
class Seen:
    """What the server's handlers did (they run on the app's loop thread)."""

    finally_: list[str] = field(default_factory=list[str])
    produced: int = 0
    sent: list[int] = field(default_factory=list[int])


def _commands(seen: Seen) -> Commands:
    commands = Commands()

    @commands.command()
    async def count(n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                seen.produced += 1
                yield i
        finally:
            seen.finally_.append("count")

    @commands.command()
    async def forever() -> AsyncIterator[Progress]:
        try:
            i = 0
            while True:
                i += 1
                seen.produced = i
                yield Progress(done=i, total=0)
                await asyncio.sleep(0.001)
        finally:
            seen.finally_.append("forever")

    @commands.command()
    async def fails_after(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i
        raise Boom("it broke", data={"at": n})

    @commands.command()
    async def slow_stream() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.sleep(30)
            yield 2
        finally:
            seen.finally_.append("slow_stream")

    @commands.command()
    async def export(path: str, progress: Channel[Progress]) -> str:
        for done in range(1, 4):
            await progress.send(Progress(done=done, total=3))
        return path

    @commands.command()
    def export_sync(n: int, log: Channel[str]) -> int:
        for i in range(n):
            log.send_blocking(f"line {i}")
            seen.sent.append(i)
        return n

    @commands.command()
    async def sleep(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    return commands


@dataclass
class Served:
    app: auroraview.App
    server: Any
    seen: Seen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/?token={self.server.token}"

    def stats(self) -> dict[str, int]:
        return self.app.core.stats()


@pytest.fixture
def served() -> Iterator[Served]:
    seen = Seen()
    app = auroraview.App(_commands(seen))
    server: Any = app.serve(host="127.0.0.1", port=0, expose="all")
    try:
        yield Served(app, server, seen)
    finally:
        server.close()
        app.close()


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


def until_sync(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# -- the async client -----------------------------------------------------------------------


async def test_10_000_items_arrive_in_order_none_lost_none_duplicated(served: Served) -> None:
    async with await connect_async(served.url) as client:
        got = [x async for x in client.stream("count", {"n": 10_000})]
        assert got == list(range(10_000))
        assert await until(lambda: served.seen.finally_ == ["count"])
        stats = served.stats()
        assert stats["items_sent"] == 10_000
        assert stats["late_items"] == 0
        assert served.app.core.in_flight == 0
        # The connection is still fine for calls, and for another stream.
        assert await client.call("sleep", {"seconds": 0}) == 0
        assert [x async for x in client.stream("count", {"n": 3})] == [0, 1, 2]


async def test_a_reader_that_stops_reading_holds_the_producer_at_the_window(served: Served) -> None:
    async with await connect_async(served.url) as client:
        items = client.stream("count", {"n": 5000})
        assert await anext(items) == 0
        await asyncio.sleep(0.3)
        assert served.seen.produced <= STREAM_WINDOW + 1
        assert served.stats()["items_sent"] == STREAM_WINDOW
        # Reading on moves the window: all of it arrives.
        rest = [x async for x in items]
        assert rest == list(range(1, 5000))


async def test_break_cancels_the_stream_and_its_finally_runs_on_the_server(served: Served) -> None:
    async with await connect_async(served.url) as client:
        async for item in client.stream("forever"):
            if item["done"] == 10:
                break
        start = time.monotonic()
        assert await until(lambda: served.seen.finally_ == ["forever"], timeout=1.0)
        assert time.monotonic() - start < 1.0
        assert await until(lambda: served.app.core.in_flight == 0, timeout=1.0)
        assert served.stats()["cancelled"] == 1
        # The "cancelled" reply the host still sends is ignored; the client goes on.
        assert await client.call("sleep", {"seconds": 0}) == 0
        assert not client.closed


async def test_aclose_and_a_cancelled_task_cancel_the_stream(served: Served) -> None:
    async with await connect_async(served.url) as client:
        items = client.stream("forever")
        await anext(items)
        await items.aclose()
        assert await until(lambda: served.seen.finally_ == ["forever"], timeout=1.0)

        async def consume() -> None:
            async for _ in client.stream("forever"):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await until(lambda: served.seen.finally_ == ["forever", "forever"], timeout=1.0)
        assert await until(lambda: served.app.core.in_flight == 0, timeout=1.0)


async def test_an_error_ends_the_stream_after_its_items(served: Served) -> None:
    async with await connect_async(served.url) as client:
        got: list[int] = []
        with pytest.raises(InvokeError) as info:
            async for x in client.stream("fails_after", {"n": 3}):
                got.append(x)
        assert got == [0, 1, 2]
        e = info.value
        assert (e.name, e.code, e.message, e.data) == ("Boom", "boom", "it broke", {"at": 3})
        with pytest.raises(InvokeError) as info:
            [x async for x in client.stream("no.such.command")]
        assert info.value.code == "method_not_found"


async def test_a_timeout_ends_the_stream_and_closes_the_generator(served: Served) -> None:
    async with await connect_async(served.url) as client:
        got: list[int] = []
        start = time.monotonic()
        with pytest.raises(InvokeError) as info:
            async for x in client.stream("slow_stream", timeout=0.2):
                got.append(x)
        assert got == [1]
        assert info.value.code == "timeout"
        assert 0.15 < time.monotonic() - start < 2
        assert await until(lambda: served.seen.finally_ == ["slow_stream"], timeout=1.0)
        assert await until(lambda: served.app.core.in_flight == 0, timeout=1.0)


async def test_a_channel_s_items_arrive_in_order_before_its_result(served: Served) -> None:
    async with await connect_async(served.url) as client:
        log: list[Any] = []
        result = await client.call("export", {"path": "/tmp/x"}, on_item=lambda p: log.append(("item", p["done"])))
        log.append(("result", result))
        assert log == [("item", 1), ("item", 2), ("item", 3), ("result", "/tmp/x")]


async def test_a_long_channel_is_acknowledged_with_or_without_on_item(served: Served) -> None:
    async with await connect_async(served.url) as client:
        got: list[str] = []
        assert await client.call("export_sync", {"n": 5000}, on_item=got.append) == 5000
        assert got == [f"line {i}" for i in range(5000)]
        # Without on_item the items are dropped, still acknowledged: the command is not held
        # at its window.
        assert await client.call("export_sync", {"n": 2000}, timeout=10) == 2000
        # A plain call of a stream command returns once it ends.
        assert await client.call("count", {"n": 1000}, timeout=10) is None
        # (An ack may still cross the call's reply on the wire: the host counts it in
        # unknown_acks, harmlessly.)


async def test_a_failing_on_item_is_logged_and_the_call_goes_on(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(item: Any) -> None:
        raise RuntimeError("on_item bug")

    async with await connect_async(served.url) as client:
        with caplog.at_level("ERROR", logger="auroraview.client"):
            assert await client.call("export", {"path": "p"}, on_item=boom) == "p"
    assert "on_item bug" in caplog.text


async def test_a_stream_on_a_closed_client_raises_disconnected(served: Served) -> None:
    client = await connect_async(served.url)
    await client.close()
    with pytest.raises(InvokeError) as info:
        await anext(client.stream("count", {"n": 3}))
    assert info.value.code == "disconnected"


async def test_closing_the_client_mid_stream_ends_it_disconnected(served: Served) -> None:
    client = await connect_async(served.url)
    items = client.stream("forever")
    await anext(items)
    await client.close()
    with pytest.raises(InvokeError) as info:
        async for _ in items:
            pass
    assert info.value.code == "disconnected"
    assert await until(lambda: served.seen.finally_ == ["forever"])  # the host closed it too


@pytest.mark.timeout(15)
async def test_server_stopped_mid_stream_ends_it_as_calls_in_flight_end(served: Served) -> None:
    client = await connect_async(served.url)
    try:
        items = client.stream("forever")
        await anext(items)
        call = asyncio.create_task(client.call("sleep", {"seconds": 30}))
        await asyncio.sleep(0.05)
        await asyncio.to_thread(served.server.close)  # it waits for this loop's closing handshake
        with pytest.raises(InvokeError) as info:
            async for _ in items:
                pass
        with pytest.raises(InvokeError) as call_info:
            await call
        assert info.value.code == call_info.value.code == "disconnected"
        assert info.value.message == call_info.value.message
        assert "1001" in info.value.message
        assert await until(lambda: "forever" in served.seen.finally_)
    finally:
        await client.close()


# -- the sync client ------------------------------------------------------------------------


def test_sync_stream_and_break(served: Served) -> None:
    with connect(served.url) as client:
        assert list(client.stream("count", {"n": 10_000})) == list(range(10_000))
        for item in client.stream("forever"):
            if item["done"] == 5:
                break
        assert until_sync(lambda: served.seen.finally_ == ["count", "forever"], timeout=1.0)
        assert until_sync(lambda: served.app.core.in_flight == 0, timeout=1.0)
        assert served.stats()["cancelled"] == 1
        # close() on the iterator cancels too; an iterator never started sends nothing.
        items = client.stream("forever")
        assert next(items)["done"] == 1
        items.close()
        unused = client.stream("forever")
        del unused
        assert until_sync(lambda: served.seen.finally_ == ["count", "forever", "forever"], timeout=1.0)
        assert client.call("sleep", {"seconds": 0}) == 0


def test_sync_stream_errors_and_timeout(served: Served) -> None:
    with connect(served.url) as client:
        got: list[int] = []
        with pytest.raises(InvokeError) as info:
            for x in client.stream("fails_after", {"n": 2}):
                got.append(x)
        assert got == [0, 1] and info.value.code == "boom"
        with pytest.raises(InvokeError) as info:
            list(client.stream("slow_stream", timeout=0.2))
        assert info.value.code == "timeout"
        assert until_sync(lambda: served.seen.finally_ == ["slow_stream"], timeout=1.0)


def test_sync_call_on_item_runs_on_the_io_thread(served: Served) -> None:
    with connect(served.url) as client:
        got: list[tuple[str, int]] = []
        result = client.call(
            "export", {"path": "/p"}, on_item=lambda p: got.append((threading.current_thread().name, p["done"]))
        )
        assert result == "/p"
        assert got == [("auroraview-client-io", 1), ("auroraview-client-io", 2), ("auroraview-client-io", 3)]
        lines: list[str] = []
        assert client.call("export_sync", {"n": 1000}, on_item=lines.append) == 1000
        assert lines == [f"line {i}" for i in range(1000)]


def test_sync_stream_interrupted_by_a_signal_cancels_it(served: Served) -> None:
    class Interrupted(Exception):
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise Interrupted  # as Ctrl-C's KeyboardInterrupt would, in the waiting thread

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with connect(served.url) as client:
            got: list[int] = []
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(Interrupted):
                for x in client.stream("slow_stream"):  # waits 30 s after its first item
                    got.append(x)
            assert got == [1]
            assert until_sync(lambda: served.seen.finally_ == ["slow_stream"], timeout=1.0)
            assert until_sync(lambda: served.app.core.in_flight == 0, timeout=1.0)
            assert client.call("sleep", {"seconds": 0}) == 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.timeout(15)
def test_sync_stream_when_the_server_stops_raises_disconnected(served: Served) -> None:
    with connect(served.url) as client:
        items = client.stream("forever")
        assert next(items)["done"] == 1
        stopper = threading.Timer(0.1, served.server.close)
        stopper.start()
        try:
            with pytest.raises(InvokeError) as info:
                for _ in items:
                    pass
        finally:
            stopper.join()
        assert info.value.code == "disconnected"
        assert client.wait_closed(5) and client.close_code == 1001


@pytest.mark.timeout(15)
def test_sync_client_closed_from_another_thread_mid_stream(served: Served) -> None:
    client = connect(served.url)
    items = client.stream("forever")
    next(items)
    closer = threading.Timer(0.1, client.close)
    closer.start()
    try:
        with pytest.raises(InvokeError) as info:
            for _ in items:
                pass
    finally:
        closer.join()
    assert info.value.code == "disconnected"
    assert until_sync(lambda: served.seen.finally_ == ["forever"])


# -- the wire, against a scripted host ------------------------------------------------------

TOKEN = "s" * 43

#: ``script(ws, call, received)``: answers one call; ``received`` collects what the client
#: sends afterwards (acks, cancels), filled by the host's reader.
Script = Callable[[ServerConnection, dict[str, Any], "asyncio.Queue[dict[str, Any]]"], Awaitable[None]]


class ScriptedHost:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[dict[str, Any]] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={TOKEN}"

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m["type"] == kind]

    async def handle(self, ws: ServerConnection) -> None:
        welcome = {"type": "welcome", "conn": 1, "heartbeat_ms": 15_000, "protocol": PROTOCOL_VERSION}
        await ws.send(to_json(welcome).decode())
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for frame in ws:
                msg = from_json(frame)
                self.received.append(msg)
                if msg["type"] == "call":
                    task = asyncio.create_task(self.script(ws, msg, inbox))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif msg["type"] in ("ack", "cancel"):
                    inbox.put_nowait(msg)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()


async def _item(ws: ServerConnection, call_id: int, seq: int, item: Any) -> None:
    await ws.send(to_json({"type": "item", "id": call_id, "seq": seq, "item": item}).decode())


async def _result(ws: ServerConnection, call_id: int, result: Any = None) -> None:
    await ws.send(to_json({"type": "call_result", "id": call_id, "ok": True, "result": result}).decode())


async def _until_ack(inbox: asyncio.Queue[dict[str, Any]], seq: int) -> None:
    while True:
        msg = await asyncio.wait_for(inbox.get(), 5)
        if msg["type"] == "ack" and msg["seq"] >= seq:
            return


async def _scripted(script: Script) -> tuple[ScriptedHost, Any]:
    host = ScriptedHost(script)
    server = await serve(host.handle, "127.0.0.1", 0, ping_interval=None, compression=None)
    host.port = server.sockets[0].getsockname()[1]
    return host, server


async def test_acks_come_at_least_every_32_items_and_when_the_consumer_waits() -> None:
    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        for seq in range(1, 101):
            await _item(ws, call["id"], seq, seq)
        await _until_ack(inbox, 100)  # the consumer waits with nothing held: it acknowledged all
        for seq in range(101, 111):
            await _item(ws, call["id"], seq, seq)
        await _until_ack(inbox, 110)
        await _result(ws, call["id"])

    host, server = await _scripted(script)
    try:
        async with await connect_async(host.url) as client:
            got: list[int] = []
            async for x in client.stream("s"):
                got.append(x)
                await asyncio.sleep(0)  # a consumer that reads on while items pile up
            assert got == list(range(1, 111))
        acks = [m["seq"] for m in host.of("ack")]
        assert acks == sorted(set(acks)) and acks[-1] == 110
        assert all(b - a <= 32 for a, b in zip([0, *acks], acks))
        assert host.of("cancel") == []  # it ended: nothing to cancel
    finally:
        server.close()


async def test_a_channel_acknowledges_what_on_item_handled() -> None:
    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        for seq in range(1, 41):
            await _item(ws, call["id"], seq, seq)
        await _until_ack(inbox, 40)
        await _result(ws, call["id"], "done")

    host, server = await _scripted(script)
    try:
        async with await connect_async(host.url) as client:
            got: list[int] = []
            assert await client.call("c", on_item=got.append) == "done"
            assert got == list(range(1, 41))
        acks = [m["seq"] for m in host.of("ack")]
        assert acks == sorted(set(acks)) and acks[-1] == 40
        assert len(acks) < 40  # batched, not one per item
    finally:
        server.close()


@pytest.mark.parametrize("kind", ["stream", "channel"])
async def test_items_out_of_sequence_fail_the_call_and_cancel_it(kind: str) -> None:
    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        await _item(ws, call["id"], 1, "a")
        await _item(ws, call["id"], 3, "c")
        await asyncio.wait_for(inbox.get(), 5)
        await asyncio.sleep(30)

    host, server = await _scripted(script)
    try:
        async with await connect_async(host.url) as client:
            got: list[Any] = []
            with pytest.raises(InvokeError) as info:
                if kind == "stream":
                    async for x in client.stream("s"):
                        got.append(x)
                else:
                    await client.call("c", on_item=got.append)
            assert got == ["a"]
            assert info.value.code == "internal" and "out of sequence" in info.value.message
            assert await until(lambda: [m["id"] for m in host.of("cancel")] == [1])
    finally:
        server.close()
