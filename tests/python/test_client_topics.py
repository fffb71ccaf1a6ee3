"""Topics (docs/topics.md, "What clients do") through the Python network client
(`auroraview.client`): against a real server (an `App` served in this process, or
`auroraview serve tests/net/app.py:commands` in a process of its own, killed and restarted),
and the client's own rules (duplicates dropped, gaps reported) against a scripted host."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import threading
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, cast

import pytest
from cli_server import serve as auroraview_serve
from pydantic import BaseModel
from pydantic_core import to_json
from test_client_streams import (
    TOKEN,
    ScriptedHost,
    _result,  # pyright: ignore[reportPrivateUsage]
    _scripted,  # pyright: ignore[reportPrivateUsage]
    until,
    until_sync,
)
from websockets.asyncio.server import Server, ServerConnection, serve

import auroraview
from auroraview import Commands, InvokeError
from auroraview import client as client_module
from auroraview._core import PROTOCOL_VERSION
from auroraview.client import (
    AsyncClient,
    Publication,
    PublishResult,
    RecoveryInfo,
    connect,
    connect_async,
)

pytestmark = pytest.mark.timeout(60)


class Note(BaseModel):
    text: str
    n: int = 0


def _commands() -> Commands:
    commands = Commands()
    commands.topic("feed", int, publish=True, history=20_000)
    commands.topic("small", int, publish=True, history=5)
    commands.topic("notes", Note, publish=True)
    commands.topic("private", int, subscribe=False)  # only the app publishes (the default)
    return commands


class Served:
    """An app served on a loopback port; ``restart()`` closes the server and serves the same
    app (its topics, their epochs and history) again on the same port with the same token."""

    def __init__(self) -> None:
        self.app = auroraview.App(_commands())
        self.server: Any = self.app.serve(host="127.0.0.1", port=0, expose="all")
        self.port: int = self.server.port
        self.token: str = self.server.token

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def stop(self) -> None:
        self.server.close()

    def start(self) -> None:
        self.server = self.app.serve(host="127.0.0.1", port=self.port, token=self.token, expose="all")

    def publish(self, topic: str, values: range) -> None:
        for value in values:
            self.app.publish(topic, value)

    def close(self) -> None:
        self.server.close()
        self.app.close()


@pytest.fixture
def served() -> Iterator[Served]:
    s = Served()
    try:
        yield s
    finally:
        s.close()


class Seen:
    """What one subscriber was told, in the order it was told: ``("msg", offset, data)`` and
    ``("recovery", info)``."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.threads: set[str] = set()

    def handler(self, data: Any, publication: Publication) -> None:
        self.threads.add(threading.current_thread().name)
        self.log.append(("msg", publication.offset, data))

    def on_recovery(self, info: RecoveryInfo) -> None:
        self.log.append(("recovery", info))

    @property
    def offsets(self) -> list[int]:
        return [entry[1] for entry in self.log if entry[0] == "msg"]

    @property
    def recoveries(self) -> list[RecoveryInfo]:
        return [entry[1] for entry in self.log if entry[0] == "recovery"]


def _break_socket(client: AsyncClient) -> None:
    """Cut the client's TCP connection without a close frame (as a network failure would)."""
    client._ws.transport.abort()  # pyright: ignore[reportPrivateUsage]


# -- order, sharing, publish ------------------------------------------------------------------


async def test_10_000_messages_reach_3_clients_in_order_none_lost_none_twice(served: Served) -> None:
    clients = [await connect_async(served.url) for _ in range(3)]
    try:
        seen = [Seen() for _ in clients]
        subs = [await c.subscribe("feed", s.handler) for c, s in zip(clients, seen)]
        assert all((sub.offset, sub.epoch) == (0, subs[0].epoch) for sub in subs)
        await asyncio.to_thread(served.publish, "feed", range(10_000))
        assert await until(lambda: all(len(s.log) == 10_000 for s in seen), timeout=30)
        for s in seen:
            assert s.log == [("msg", i + 1, i) for i in range(10_000)]
        assert all(c.stats().duplicates == 0 and c.stats().unmatched == 0 for c in clients)
    finally:
        for c in clients:
            await c.close()


async def test_publish_from_a_client_reaches_the_others_and_returns_its_offset(served: Served) -> None:
    async with await connect_async(served.url) as reader, await connect_async(served.url) as writer:
        seen = Seen()
        sub = await reader.subscribe("notes", seen.handler)
        results = [await writer.publish("notes", {"text": f"n{i}", "n": i}) for i in range(5)]
        assert results == [PublishResult(sub.epoch, i + 1) for i in range(5)]
        assert await until(lambda: len(seen.log) == 5)
        assert seen.log == [("msg", i + 1, {"text": f"n{i}", "n": i}) for i in range(5)]


async def test_local_subscribers_share_one_wire_subscription(served: Served) -> None:
    async with await connect_async(served.url) as client:
        first, second = Seen(), Seen()
        sub1 = await client.subscribe("feed", first.handler)
        served.publish("feed", range(3))
        assert await until(lambda: len(first.log) == 3)
        sub2 = await client.subscribe("feed", second.handler)
        # The second starts from where the connection is: nothing is replayed to it.
        assert (sub2.epoch, sub2.offset) == (sub1.epoch, 3)
        assert [p["id"] for p in served.app.presence("feed")] == [client.conn]
        served.publish("feed", range(3, 5))
        assert await until(lambda: len(second.log) == 2 and len(first.log) == 5)
        assert second.offsets == [4, 5]
        await sub1.unsubscribe()
        assert not sub1.active
        assert len(served.app.presence("feed")) == 1  # the other still holds it
        served.publish("feed", range(5, 6))
        assert await until(lambda: second.offsets == [4, 5, 6])
        await sub2.unsubscribe()
        assert served.app.presence("feed") == []  # the wire unsubscribe went with the last
        await sub2.unsubscribe()  # idempotent
        served.publish("feed", range(6, 7))
        await asyncio.sleep(0.1)
        assert first.offsets == [1, 2, 3, 4, 5] and second.offsets == [4, 5, 6]


async def test_async_handlers_are_awaited_one_message_at_a_time_in_order(served: Served) -> None:
    async with await connect_async(served.url) as client:
        got: list[int] = []
        running = {"now": 0, "max": 0}

        async def slow(data: int, publication: Publication) -> None:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
            await asyncio.sleep(0.001 * (data % 3))
            got.append(publication.offset)
            running["now"] -= 1

        await client.subscribe("feed", slow)
        served.publish("feed", range(200))
        assert await until(lambda: len(got) == 200, timeout=10)
        assert got == list(range(1, 201))
        assert running["max"] == 1


async def test_failing_handlers_are_logged_and_the_client_goes_on(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    async with await connect_async(served.url) as client:
        seen = Seen()

        def boom(data: int, publication: Publication) -> None:
            raise RuntimeError(f"boom {data}")

        async def async_boom(data: int, publication: Publication) -> None:
            raise RuntimeError(f"async boom {data}")

        with caplog.at_level(logging.ERROR, logger="auroraview.client"):
            sub = await client.subscribe("feed", boom)
            await client.subscribe("feed", async_boom)
            await client.subscribe("feed", seen.handler)
            served.publish("feed", range(3))
            assert await until(lambda: len(seen.log) == 3)
            await asyncio.sleep(0.05)
        assert seen.offsets == [1, 2, 3]
        text = caplog.text
        assert "boom 0" in text and "boom 2" in text and "async boom 2" in text
        assert not client.closed
        assert await client.publish("feed", 7) == PublishResult(sub.epoch, 4)


# -- refusals --------------------------------------------------------------------------------


async def test_refused_subscriptions_and_publishes_raise_the_host_s_error(served: Served) -> None:
    async with await connect_async(served.url) as client:
        seen = Seen()
        cases = [("private", "forbidden"), ("nowhere", "unknown_topic"), ("bad//name", "invalid_params")]
        for topic, code in cases:
            with pytest.raises(InvokeError) as info:
                await client.subscribe(topic, seen.handler)
            assert info.value.code == code, (topic, info.value)
        assert client._topics == {}  # pyright: ignore[reportPrivateUsage]
        for topic, data, code in [
            ("private", 1, "forbidden"),
            ("nowhere", 1, "unknown_topic"),
            ("feed", "not an int", "invalid_params"),
            ("notes", {"n": 1}, "invalid_params"),
        ]:
            with pytest.raises(InvokeError) as info:
                await client.publish(topic, data)
            assert info.value.code == code, (topic, info.value)
        served.app.publish("private", 1)
        await asyncio.sleep(0.05)
        assert seen.log == [] and not client.closed
        # The connection is fine: a permitted subscription works.
        sub = await client.subscribe("feed", seen.handler)
        assert sub.offset == 0


# -- reconnection and recovery ---------------------------------------------------------------


async def test_a_broken_socket_resubscribes_and_recovers_exactly_the_gap(served: Served) -> None:
    async with await connect_async(served.url, reconnect=True) as client:
        seen = Seen()
        sub = await client.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        served.publish("feed", range(50))
        assert await until(lambda: len(seen.log) == 50)
        first_conn = client.conn
        _break_socket(client)
        served.publish("feed", range(50, 100))  # while the client is away, or replaying
        assert await until(lambda: len(seen.offsets) == 100, timeout=10)
        assert client.connected and client.conn != first_conn
        [info] = seen.recoveries
        assert info == RecoveryInfo("feed", True, None, sub.epoch, 50)
        # Told before the replay, then every message exactly once, in order.
        assert seen.log.index(("recovery", info)) == 50
        assert seen.offsets == list(range(1, 101))
        assert client.stats().duplicates == 0 and client.stats().reconnects == 1
        served.publish("feed", range(100, 101))
        assert await until(lambda: seen.offsets[-1] == 101)


async def test_a_gap_the_server_kept_is_replayed_after_it_comes_back(served: Served) -> None:
    async with await connect_async(served.url, reconnect=True) as client:
        seen = Seen()
        sub = await client.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        served.publish("feed", range(10))
        assert await until(lambda: len(seen.log) == 10)
        served.stop()
        assert await until(lambda: not client.connected)
        served.publish("feed", range(10, 30))  # no server: the client cannot have them yet
        served.start()
        assert await until(lambda: len(seen.offsets) == 30, timeout=15)
        assert seen.recoveries == [RecoveryInfo("feed", True, None, sub.epoch, 10)]
        assert seen.log[10] == ("recovery", seen.recoveries[0])
        assert seen.log[11:] == [("msg", i + 1, i) for i in range(10, 30)]


async def test_a_gap_larger_than_the_history_is_recovered_false(served: Served) -> None:
    async with await connect_async(served.url, reconnect=True) as client:
        seen = Seen()
        sub = await client.subscribe("small", seen.handler, on_recovery=seen.on_recovery)
        served.publish("small", range(2))
        assert await until(lambda: len(seen.log) == 2)
        served.stop()
        assert await until(lambda: not client.connected)
        served.publish("small", range(2, 12))  # ten more: history keeps the last five
        served.start()
        assert await until(lambda: len(seen.recoveries) == 1, timeout=15)
        [info] = seen.recoveries
        assert not info.recovered and info.reason
        assert (info.epoch, info.offset) == (sub.epoch, 12)  # messages follow from the newest
        served.publish("small", range(12, 13))
        assert await until(lambda: seen.offsets == [1, 2, 13])
        assert seen.log[2] == ("recovery", info)


async def test_a_restarted_server_is_a_new_epoch_reported_before_newer_messages() -> None:
    with auroraview_serve("tests/net/app.py:commands") as first:
        port, token = first["port"], first["token"]
        url = f"http://127.0.0.1:{port}/?token={token}"
        client = await connect_async(url, reconnect=True)
        try:
            seen = Seen()
            sub = await client.subscribe("notes", seen.handler, on_recovery=seen.on_recovery)
            async with await connect_async(url) as writer:
                for i in range(3):
                    await writer.publish("notes", {"text": f"before {i}", "n": i})
            assert await until(lambda: len(seen.log) == 3)
            proc = first["proc"]
            os.kill(proc.pid, signal.SIGKILL)
            await asyncio.to_thread(proc.wait)
            assert await until(lambda: not client.connected)
            with auroraview_serve("tests/net/app.py:commands", "--port", str(port), f"--token={token}"):
                assert await until(lambda: len(seen.recoveries) == 1, timeout=20)
                [info] = seen.recoveries
                assert not info.recovered and info.reason
                assert info.epoch != sub.epoch and info.offset == 0
                async with await connect_async(url) as writer:
                    assert (await writer.publish("notes", {"text": "after"})).epoch == info.epoch
                assert await until(lambda: len(seen.log) == 5)
                assert seen.log == [
                    *[("msg", i + 1, {"text": f"before {i}", "n": i}) for i in range(3)],
                    ("recovery", info),
                    ("msg", 1, {"text": "after", "n": 0}),
                ]
                assert client.stats().duplicates == 0
        finally:
            await client.close()


async def test_without_reconnect_a_lost_connection_ends_the_subscriptions(served: Served) -> None:
    client = await connect_async(served.url)
    errors: list[InvokeError] = []
    await client.subscribe("feed", Seen().handler, on_error=errors.append)
    served.stop()
    assert await until(lambda: client.closed and len(errors) == 1)
    assert errors[0].code == "disconnected"
    with pytest.raises(InvokeError) as info:
        await client.subscribe("feed", Seen().handler)
    assert info.value.code == "disconnected"
    await client.close()


# -- the client's own rules, against a scripted host -----------------------------------------


async def test_duplicates_across_a_resubscribe_are_dropped_and_a_skip_ahead_is_reported() -> None:
    """A host that replays more than asked (offsets 2 and 3 again) and later skips offsets:
    the application sees each offset once, and the gap before the message after it."""

    async def send(ws: ServerConnection, offset: int, epoch: str = "e1") -> None:
        frame = f'{{"type":"publication","topic":"t","epoch":"{epoch}","offset":{offset},"data":{offset}}}'
        await ws.send(frame)

    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        subscribes = [m for m in host.of("call") if m["method"] == "auroraview.subscribe"]
        if len(subscribes) == 1:
            await _result(ws, call["id"], {"epoch": "e1", "offset": 0})
            for offset in (1, 2, 3):
                await send(ws, offset)
            await ws.close(1011, "going away")
        else:
            await _result(ws, call["id"], {"epoch": "e1", "offset": 5, "recovered": True})
            for offset in (2, 3, 4, 5, 5, 9, 10):
                await send(ws, offset)

    host, server = await _scripted(script)
    try:
        assert TOKEN in host.url
        async with await connect_async(host.url, reconnect=True) as client:
            seen = Seen()
            await client.subscribe("t", seen.handler, on_recovery=seen.on_recovery)
            assert await until(lambda: seen.offsets[-1:] == [10], timeout=10)
            since = [m["params"].get("since") for m in host.of("call")]
            assert since == [None, {"epoch": "e1", "offset": 3}]
            recovered = RecoveryInfo("t", True, None, "e1", 3)
            gap = RecoveryInfo("t", False, "offsets 6 to 8 never arrived", "e1", 8)
            assert seen.log == [
                ("msg", 1, 1),
                ("msg", 2, 2),
                ("msg", 3, 3),
                ("recovery", recovered),
                ("msg", 4, 4),
                ("msg", 5, 5),
                ("recovery", gap),
                ("msg", 9, 9),
                ("msg", 10, 10),
            ]
            assert client.stats().duplicates == 3
    finally:
        server.close()
        await server.wait_closed()


# -- the sync client -------------------------------------------------------------------------


def test_sync_client_subscribes_publishes_and_recovers(served: Served) -> None:
    with connect(served.url, reconnect=True) as client, connect(served.url) as writer:
        seen = Seen()
        sub = client.subscribe("feed", seen.handler, on_recovery=seen.on_recovery)
        assert sub.offset == 0 and sub.active
        assert [writer.publish("feed", i) for i in range(3)] == [PublishResult(sub.epoch, i + 1) for i in range(3)]
        assert until_sync(lambda: len(seen.log) == 3)
        assert seen.threads == {"auroraview-client-events"}
        # A socket cut: it reconnects and replays what it missed.
        client._io.loop.call_soon_threadsafe(_break_socket, client.inner)  # pyright: ignore[reportPrivateUsage]
        served.publish("feed", range(3, 6))
        assert until_sync(lambda: len(seen.offsets) == 6, timeout=10)
        assert seen.recoveries == [RecoveryInfo("feed", True, None, sub.epoch, 3)]
        assert seen.offsets == [1, 2, 3, 4, 5, 6]
        with pytest.raises(InvokeError) as info:
            client.subscribe("private", seen.handler)
        assert info.value.code == "forbidden"
        with pytest.raises(InvokeError) as info:
            writer.publish("feed", "x")
        assert info.value.code == "invalid_params"
        sub.unsubscribe()
        assert not sub.active and served.app.presence("feed") == []
        writer.publish("feed", 6)
        assert client.stats().reconnects == 1 and client.stats().duplicates == 0
    assert seen.offsets == [1, 2, 3, 4, 5, 6]


# -- review fixes: while reconnecting, late joiners, quiet close, reconnect loop ------------


async def test_subscribe_and_publish_while_reconnecting_fail_at_once_with_disconnected(served: Served) -> None:
    async with await connect_async(served.url, reconnect=True) as client:
        await client.subscribe("feed", Seen().handler)
        served.stop()
        assert await until(lambda: not client.connected)
        for topic in ("feed", "notes"):  # a topic held already, and a new one
            with pytest.raises(InvokeError) as info:
                await asyncio.wait_for(client.subscribe(topic, Seen().handler), 2)
            assert info.value.code == "disconnected", topic
        with pytest.raises(InvokeError) as info:
            await asyncio.wait_for(client.publish("feed", 1), 2)
        assert info.value.code == "disconnected"
        assert list(client._topics) == ["feed"]  # pyright: ignore[reportPrivateUsage]
        assert len(client._topics["feed"].subscribers) == 1  # pyright: ignore[reportPrivateUsage]


def test_sync_subscribe_while_reconnecting_raises_disconnected(served: Served) -> None:
    with connect(served.url, reconnect=True) as client:
        served.stop()
        assert until_sync(lambda: not client.inner.connected)
        outcome: list[BaseException] = []

        def attempt() -> None:
            try:
                client.subscribe("feed", Seen().handler)
            except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
                outcome.append(exc)

        thread = threading.Thread(target=attempt, daemon=True)
        thread.start()
        thread.join(5)
        assert not thread.is_alive(), "Client.subscribe blocked while the client was reconnecting"
        [error] = outcome
        assert isinstance(error, InvokeError) and error.code == "disconnected"
        with pytest.raises(InvokeError) as info:
            client.publish("feed", 1)
        assert info.value.code == "disconnected"


async def test_a_subscriber_joining_during_a_resubscription_gets_only_greater_offsets() -> None:
    go = asyncio.Event()

    async def send(ws: ServerConnection, offset: int) -> None:
        await ws.send(f'{{"type":"publication","topic":"t","epoch":"e1","offset":{offset},"data":{offset}}}')

    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        subscribes = [m for m in host.of("call") if m["method"] == "auroraview.subscribe"]
        if len(subscribes) == 1:
            await _result(ws, call["id"], {"epoch": "e1", "offset": 0})
            for offset in (1, 2, 3):
                await send(ws, offset)
            await ws.close(1011, "going away")
        else:
            await go.wait()  # the late subscriber joins while this answer is on its way
            await _result(ws, call["id"], {"epoch": "e1", "offset": 5, "recovered": True})
            for offset in (4, 5, 6):
                await send(ws, offset)

    host, server = await _scripted(script)
    try:
        async with await connect_async(host.url, reconnect=True) as client:
            first, late = Seen(), Seen()
            await client.subscribe("t", first.handler, on_recovery=first.on_recovery)
            assert await until(lambda: first.offsets == [1, 2, 3])
            assert await until(
                lambda: (
                    client.connected and len([m for m in host.of("call") if m["method"] == "auroraview.subscribe"]) == 2
                ),
                timeout=10,
            )
            joining = asyncio.ensure_future(client.subscribe("t", late.handler, on_recovery=late.on_recovery))
            await asyncio.sleep(0.05)
            assert not joining.done()
            go.set()
            sub = await asyncio.wait_for(joining, 5)
            assert await until(lambda: first.offsets[-1:] == [6])
            assert await until(lambda: late.offsets[-1:] == [6])
            assert first.offsets == [1, 2, 3, 4, 5, 6]
            # Only offsets greater than where it started, each once.
            assert late.offsets == list(range(sub.offset + 1, 7)), (sub.offset, late.offsets)
            assert late.recoveries == []
    finally:
        server.close()
        await server.wait_closed()


async def test_close_during_a_resubscription_does_not_call_on_error() -> None:
    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        subscribes = [m for m in host.of("call") if m["method"] == "auroraview.subscribe"]
        if len(subscribes) == 1:
            await _result(ws, call["id"], {"epoch": "e1", "offset": 0})
            await ws.close(1011, "going away")
        # The resubscription is never answered: in flight when the client closes.

    host, server = await _scripted(script)
    try:
        client = await connect_async(host.url, reconnect=True)
        errors: list[InvokeError] = []
        sub = await client.subscribe("t", Seen().handler, on_error=errors.append)
        assert await until(lambda: len(host.of("call")) == 2 and client.connected, timeout=10)
        await client.close()
        await asyncio.sleep(0.05)
        assert errors == [] and not sub.active
    finally:
        server.close()
        await server.wait_closed()


async def _flaky_host(forbid_after: int | None = None) -> tuple[list[float], Server]:
    """A host that welcomes every connection and closes it at once (1011); from connection
    ``forbid_after`` on, it refuses the upgrade with HTTP 403 instead. Returns the times of
    the connection attempts, and the server."""
    dials: list[float] = []
    loop = asyncio.get_running_loop()

    def process_request(connection: ServerConnection, request: Any) -> Any:
        dials.append(loop.time())
        if forbid_after is not None and len(dials) > forbid_after:
            return connection.respond(HTTPStatus.FORBIDDEN, "origin refused\n")
        return None

    async def handle(ws: ServerConnection) -> None:
        welcome = {"type": "welcome", "conn": len(dials), "heartbeat_ms": 15_000, "protocol": PROTOCOL_VERSION}
        await ws.send(to_json(welcome).decode())
        await ws.close(1011, "going away")

    server = cast(Server, await serve(handle, "127.0.0.1", 0, ping_interval=None, process_request=process_request))
    return dials, server


def _host_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/?token={TOKEN}"


async def test_a_host_that_welcomes_then_closes_is_redialed_with_growing_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def longest(low: float, high: float) -> float:
        return high

    monkeypatch.setattr(random, "uniform", longest)  # the client's backoff takes its longest delays
    dials, server = await _flaky_host()
    try:
        client = await connect_async(_host_url(server), reconnect=True)
        try:
            await asyncio.sleep(2.0)
            # 0.25 + 0.5 + 1 s: about four dials in two seconds, not one every 0.25 s.
            assert len(dials) <= 5, [round(t - dials[0], 2) for t in dials]
            assert not client.closed
        finally:
            await client.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_http_403_when_redialing_ends_the_client() -> None:
    dials, server = await _flaky_host(forbid_after=1)
    try:
        ended: list[tuple[int, str]] = []
        client = await connect_async(_host_url(server), reconnect=True, on_disconnect=lambda c, r: ended.append((c, r)))
        try:
            assert await until(lambda: client.closed, timeout=5), f"still redialing after {len(dials)} dials"
            assert len(dials) == 2
            assert "403" in (client.close_reason or "")
            assert await until(lambda: len(ended) == 1)
        finally:
            await client.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_an_unexpected_failure_while_redialing_closes_the_client(
    served: Served, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client = await connect_async(served.url, reconnect=True)
    try:
        errors: list[InvokeError] = []
        await client.subscribe("feed", Seen().handler, on_error=errors.append)

        async def broken_dial(*args: Any) -> Any:
            raise RuntimeError("a bug in dialing")

        monkeypatch.setattr(client_module, "_dial", broken_dial)
        with caplog.at_level(logging.ERROR, logger="auroraview.client"):
            _break_socket(client)
            assert await until(lambda: client.closed, timeout=5)
        assert "a bug in dialing" in caplog.text
        assert "a bug in dialing" in (client.close_reason or "")
        assert [e.code for e in errors] == ["disconnected"]
    finally:
        await client.close()


async def _gapped_host(offsets: tuple[int, ...]) -> tuple[ScriptedHost, Any]:
    async def script(ws: ServerConnection, call: dict[str, Any], inbox: asyncio.Queue[dict[str, Any]]) -> None:
        if call["method"] == "auroraview.subscribe":
            await _result(ws, call["id"], {"epoch": "e1", "offset": 0})
            return
        await _result(ws, call["id"])  # any other call: publish `offsets` now
        for offset in offsets:
            await ws.send(f'{{"type":"publication","topic":"t","epoch":"e1","offset":{offset},"data":{offset}}}')

    return await _scripted(script)


async def test_a_subscriber_unsubscribed_in_on_recovery_does_not_get_the_message() -> None:
    host, server = await _gapped_host((1, 3))  # offset 2 never arrives: told before 3
    try:
        async with await connect_async(host.url) as client:
            seen, other = Seen(), Seen()
            subs: list[Any] = []

            def on_recovery(info: RecoveryInfo) -> None:
                seen.on_recovery(info)
                # Unsubscribed here and now (another subscriber holds the topic, so it
                # returns without waiting for the host), as an eager task would.
                with pytest.raises(StopIteration):
                    subs[0].unsubscribe().send(None)

            subs.append(await client.subscribe("t", seen.handler, on_recovery=on_recovery))
            await client.subscribe("t", other.handler)
            await client.call("go")
            assert await until(lambda: other.offsets == [1, 3])
            await asyncio.sleep(0.05)
            assert len(seen.recoveries) == 1 and not subs[0].active
            assert seen.offsets == [1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_handler_raising_cancelled_error_is_logged_and_the_messages_after_it_still_come(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host, server = await _gapped_host((1, 2, 3, 4, 5))
    try:
        async with await connect_async(host.url) as client:
            got: list[int] = []

            async def handler(data: int, publication: Publication) -> None:
                got.append(publication.offset)
                await asyncio.sleep(0.01)  # the others queue behind it
                if data == 2:
                    raise asyncio.CancelledError  # escapes the handler, not a cancel of the client

            with caplog.at_level(logging.ERROR, logger="auroraview.client"):
                await client.subscribe("t", handler)
                await client.call("go")
                assert await until(lambda: got == [1, 2, 3, 4, 5]), got
            assert "handler of topic 't'" in caplog.text
    finally:
        server.close()
        await server.wait_closed()
