"""The Python network client (`auroraview.client`): against a fake server written from
docs/network.md (tests/python/netfake.py), and against the real server once it exists
(the tests at the end, skipped until ``App.serve`` does)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from netfake import FakeInvokeError, FakeServer, wait_until

import auroraview
from auroraview import InvokeError
from auroraview.client import (
    WS_PATH,
    AsyncClient,
    AuthenticationError,
    ConnectError,
    connect,
    connect_async,
    describe_close,
    resolve_url,
)

TOKEN = "t" * 43


def _handlers(server_ref: list[FakeServer]) -> dict[str, Any]:
    def fail(what: str = "thing") -> None:
        raise FakeInvokeError("NotFound", "not_found", f"no {what} here", {"what": what})

    async def sleep(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def emit(event: str, payload: Any = None) -> int:
        return await server_ref[0]._emit(event, payload, None)

    return {
        "api.echo": lambda value=None: value,
        "api.add": lambda a, b: {"total": a + b},
        "api.fail": fail,
        "api.sleep": sleep,
        "api.emit": emit,
    }


def make_server(**options: Any) -> FakeServer:
    ref: list[FakeServer] = []
    server = FakeServer(_handlers(ref), **options)
    ref.append(server)
    return server.start()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    s = make_server()
    yield s
    s.close()


def client_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("auroraview-client")]


# -- URLs ---------------------------------------------------------------------------------


def test_the_printed_url_gives_the_endpoint_and_the_token() -> None:
    assert resolve_url(f"http://127.0.0.1:8765/?token={TOKEN}") == (f"ws://127.0.0.1:8765{WS_PATH}", TOKEN)
    assert resolve_url(f"https://h.example:443/app/?token={TOKEN}") == (f"wss://h.example:443{WS_PATH}", TOKEN)
    # The token never stays in the URL the client opens.
    assert resolve_url(f"ws://127.0.0.1:1/?token={TOKEN}") == (f"ws://127.0.0.1:1{WS_PATH}", TOKEN)


def test_a_ws_url_takes_token_and_keeps_its_path() -> None:
    assert resolve_url(f"ws://[::1]:9{WS_PATH}", TOKEN) == (f"ws://[::1]:9{WS_PATH}", TOKEN)
    assert resolve_url("ws://localhost:9", TOKEN) == (f"ws://localhost:9{WS_PATH}", TOKEN)
    assert resolve_url("wss://h/custom?x=1", TOKEN) == ("wss://h/custom?x=1", TOKEN)


@pytest.mark.parametrize(
    ("url", "token", "message"),
    [
        ("ftp://h/", TOKEN, "http://"),
        ("http:///?token=" + TOKEN, None, "no host"),
        ("ws://h/", None, "no token"),
        ("http://h/?token=" + TOKEN, "u" * 43, "different tokens"),
        ("ws://h/", "short", "malformed token"),
        ("ws://h/", "x" * 40 + "\r\nX: y", "malformed token"),
    ],
)
def test_bad_urls_and_tokens_are_refused_before_connecting(url: str, token: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_url(url, token)


def test_close_codes_read_as_words() -> None:
    assert describe_close(4003) == "4003 token revoked"
    assert describe_close(4002, "silent") == "4002 heartbeat timeout: silent"


# -- connecting ---------------------------------------------------------------------------


async def test_connects_with_the_token_in_the_upgrade_header(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        assert client.conn == 1
        assert client.heartbeat == 15.0  # the server's, from its welcome
        assert client.url == server.ws_url
    assert server.auth_headers == [f"Bearer {server.token}"]
    assert server.messages("hello") == []


async def test_a_wrong_token_is_an_authentication_error(server: FakeServer) -> None:
    with pytest.raises(AuthenticationError, match="4001") as info:
        await connect_async(server.ws_url, "w" * 43)
    assert info.value.close_code == 4001
    assert server.auth_failures == 1


async def test_a_wrong_token_refused_with_http_401_is_an_authentication_error() -> None:
    s = make_server(wrong_token_http=True)
    try:
        with pytest.raises(AuthenticationError, match="401") as info:
            await connect_async(s.ws_url, "w" * 43)
        assert info.value.status == 401
    finally:
        s.close()


async def test_close_4001_before_the_welcome_is_an_authentication_error() -> None:
    # A server that ignores the header and waits for a hello the client does not send.
    s = make_server(header_auth=False, hello_timeout=0.2)
    try:
        with pytest.raises(AuthenticationError, match="4001") as info:
            await connect_async(s.url, timeout=5)
        assert info.value.close_code == 4001
    finally:
        s.close()


@pytest.mark.parametrize(("status", "words"), [(403, "origin"), (503, "max_connections")])
async def test_http_refusals_say_why(status: int, words: str) -> None:
    s = make_server(refuse_status=status)
    try:
        with pytest.raises(ConnectError, match=words) as info:
            await connect_async(s.url)
        assert info.value.status == status
        assert not isinstance(info.value, AuthenticationError)
    finally:
        s.close()


async def test_nothing_listening_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError, match="cannot connect"):
        await connect_async(f"ws://127.0.0.1:{port}", TOKEN)


@pytest.mark.parametrize(
    ("welcome", "words"),
    [
        (False, "no welcome"),
        ({"type": "event", "event": "x"}, "expected a welcome"),
        ({"type": "welcome", "conn": 1, "heartbeat_ms": 1000, "protocol": 2}, "protocol 2"),
    ],
)
async def test_not_an_auroraview_welcome_is_a_connect_error(welcome: Any, words: str) -> None:
    s = make_server(welcome=welcome)
    try:
        with pytest.raises(ConnectError, match=words):
            await connect_async(s.url, timeout=0.5)
    finally:
        s.close()
    assert s.closed_conns  # the client closed the socket it had opened


# -- calls --------------------------------------------------------------------------------


async def test_calls_return_decoded_results(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        assert await client.call("api.add", {"a": 1, "b": 2}) == {"total": 3}
        assert await client.call("api.add", [5, 6]) == {"total": 11}
        assert await client.call("api.echo", {"value": [1, "x", None, {"k": 1.5}]}) == [1, "x", None, {"k": 1.5}]
        assert await client.call("api.echo") is None
        results = await asyncio.gather(*(client.call("api.add", [i, i]) for i in range(50)))
        assert results == [{"total": 2 * i} for i in range(50)]
    calls = server.messages("call")
    assert calls[0] == {"type": "call", "id": 1, "method": "api.add", "params": {"a": 1, "b": 2}}
    assert "params" not in calls[3]  # None: no params at all


async def test_structured_errors_are_invoke_errors(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("api.fail", {"what": "file"})
        e = info.value
        assert (e.name, e.code, e.message, e.data) == ("NotFound", "not_found", "no file here", {"what": "file"})
        with pytest.raises(InvokeError) as info:
            await client.call("api.missing")
        assert info.value.code == "method_not_found"
        # The connection is still fine.
        assert await client.call("api.echo", ["ok"]) == "ok"


async def test_params_that_cannot_be_serialized_raise_before_sending(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        with pytest.raises(Exception, match="serialize"):
            await client.call("api.echo", {"value": object()})
        assert await client.call("api.echo", ["still open"]) == "still open"
    assert len(server.messages("call")) == 1


async def test_a_timeout_raises_timeout_and_cancels_the_call(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        started = time.monotonic()
        with pytest.raises(InvokeError) as info:
            await client.call("api.sleep", {"seconds": 30}, timeout=0.2)
        assert info.value.code == "timeout" and info.value.name == auroraview.errors.ERROR_NAMES["timeout"]
        assert time.monotonic() - started < 2
        assert wait_until(lambda: server.messages("cancel") == [{"type": "cancel", "id": 1}])
        # The late "cancelled" reply is ignored; the next call is fine.
        assert await client.call("api.add", [1, 1]) == {"total": 2}


async def test_a_cancelled_task_sends_cancel(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        task = asyncio.create_task(client.call("api.sleep", [30]))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert wait_until(lambda: server.messages("cancel") == [{"type": "cancel", "id": 1}])


# -- events -------------------------------------------------------------------------------


async def test_events_reach_their_handlers_in_order(server: FakeServer) -> None:
    got: list[tuple[str, Any]] = []
    async with await connect_async(server.url) as client:
        client.on("tick", lambda p: got.append(("tick", p)))
        unsubscribe = client.on("tick", lambda p: got.append(("second", p)))
        client.on_any(lambda e, p: got.append((f"any:{e}", p)))
        for i in range(3):
            server.emit("tick", {"i": i})
        server.emit("other", None)
        assert await client.call("api.echo", ["sync point"]) == "sync point"
        assert got[:3] == [("tick", {"i": 0}), ("second", {"i": 0}), ("any:tick", {"i": 0})]
        assert got[-1] == ("any:other", None) and len(got) == 10
        got.clear()
        unsubscribe()
        server.emit("tick", 1)
        await client.call("api.echo", ["sync point"])
        client.off("tick")
        server.emit("tick", 2)
        await client.call("api.echo", ["sync point"])
        assert got == [("tick", 1), ("any:tick", 1), ("any:tick", 2)]


async def test_a_failing_handler_is_logged_and_the_others_still_run(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[Any] = []

    def boom(payload: Any) -> None:
        raise RuntimeError("handler bug")

    async def later(payload: Any) -> None:
        await asyncio.sleep(0)
        got.append(("async", payload))

    async with await connect_async(server.url) as client:
        client.on("e", boom)
        client.on("e", got.append)
        client.on("e", later)
        with caplog.at_level(logging.ERROR, logger="auroraview.client"):
            await client.call("api.emit", ["e", 7])
            await asyncio.sleep(0.05)
    assert got == [7, ("async", 7)]
    assert "handler bug" in caplog.text


async def test_send_event_reaches_the_server(server: FakeServer) -> None:
    async with await connect_async(server.url) as client:
        await client.send_event("export", {"path": "/tmp/x"})
        await client.send_event("bare")
        assert wait_until(lambda: len(server.messages("event")) == 2)
    assert server.messages("event") == [
        {"type": "event", "event": "export", "detail": {"path": "/tmp/x"}},
        {"type": "event", "event": "bare"},
    ]


# -- heartbeats and ends --------------------------------------------------------------------


async def test_the_servers_pings_are_answered() -> None:
    s = make_server(heartbeat_ms=50, heartbeat_timeout=0.3)
    try:
        async with await connect_async(s.url, heartbeat=10, timeout=0.3) as client:
            await asyncio.sleep(0.6)  # twice the server's heartbeat + timeout: it was answered
            assert not client.closed
            assert await client.call("api.echo", ["alive"]) == "alive"
        assert len(s.messages("pong")) >= 3
    finally:
        s.close()


async def test_the_client_pings_an_idle_connection(server: FakeServer) -> None:
    async with await connect_async(server.url, heartbeat=0.05) as client:
        assert client.heartbeat == 0.05
        await asyncio.sleep(0.4)
        assert not client.closed
    assert len(server.messages("ping")) >= 3


async def test_a_silent_server_is_dead_after_heartbeat_plus_timeout() -> None:
    s = make_server(heartbeat_ms=100)
    gone: list[tuple[int, str]] = []
    try:
        client = await connect_async(s.url, timeout=0.3, on_disconnect=lambda c, r: gone.append((c, r)))
        call = asyncio.create_task(client.call("api.sleep", [30]))
        await asyncio.sleep(0.05)
        s.freeze()
        started = time.monotonic()
        with pytest.raises(InvokeError) as info:
            await call
        elapsed = time.monotonic() - started
        assert info.value.code == "disconnected" and "4002" in info.value.message
        assert 0.2 < elapsed < 1.5  # heartbeat 0.1 + timeout 0.3, measured from the last frame
        assert client.closed and client.close_code == 4002
        assert gone and gone[0][0] == 4002
        await client.close()
    finally:
        s.close()


async def test_a_dropped_connection_fails_calls_in_flight_at_once(server: FakeServer) -> None:
    gone: list[tuple[int, str]] = []
    client = await connect_async(server.url, on_disconnect=lambda c, r: gone.append((c, r)))
    calls = [asyncio.create_task(client.call("api.sleep", [30])) for _ in range(3)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    server.drop()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 1
    assert all(isinstance(r, InvokeError) and r.code == "disconnected" for r in results)
    assert client.closed and client.close_code == 1006 and gone == [(1006, "")]
    # Closed for good: no reconnect, calls and events fail at once.
    with pytest.raises(InvokeError) as info:
        await client.call("api.echo")
    assert info.value.code == "disconnected"
    with pytest.raises(InvokeError, match="closed"):
        await client.send_event("x")
    await client.close()
    assert gone == [(1006, "")]


@pytest.mark.parametrize(("code", "reason"), [(4003, "token revoked"), (4008, "slow consumer"), (1000, "")])
async def test_a_close_from_the_server_carries_its_code(server: FakeServer, code: int, reason: str) -> None:
    gone: list[tuple[int, str]] = []
    async with await connect_async(server.url, on_disconnect=lambda c, r: gone.append((c, r))) as client:
        server.kick(code=code, reason=reason)
        await asyncio.wait_for(client.wait_closed(), 5)
        assert (client.close_code, client.close_reason) == (code, reason)
    assert gone == [(code, reason)]


async def test_server_shutdown_is_1001(server: FakeServer) -> None:
    client = await connect_async(server.url)
    await asyncio.to_thread(server.close)  # it waits for the closing handshake with this loop's client
    await asyncio.wait_for(client.wait_closed(), 5)
    assert client.close_code == 1001
    await client.close()


async def test_close_fails_calls_in_flight_and_does_not_call_on_disconnect(server: FakeServer) -> None:
    gone: list[Any] = []
    client = await connect_async(server.url, on_disconnect=lambda c, r: gone.append(c))
    call = asyncio.create_task(client.call("api.sleep", [30]))
    await asyncio.sleep(0.05)
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(InvokeError) as info:
        await call
    assert info.value.code == "disconnected"
    assert client.closed and client.close_code == 1000 and gone == []
    assert wait_until(lambda: server.closed_conns == [(1, 1000)])
    assert "closed" in repr(client)


# -- the sync client ------------------------------------------------------------------------


def test_sync_client_calls_and_events(server: FakeServer) -> None:
    got: list[tuple[str, Any]] = []
    done = threading.Event()

    with connect(server.url) as client:
        assert client.conn == 1

        def on_tick(payload: Any) -> None:
            got.append((threading.current_thread().name, payload))
            # A handler may call the client: it runs off the I/O thread.
            got.append(("call", client.call("api.add", [payload, 1])))
            done.set()

        client.on("tick", on_tick)
        assert client.call("api.add", {"a": 2, "b": 3}) == {"total": 5}
        client.send_event("export", {"n": 1})
        server.emit("tick", 41)
        assert done.wait(5)
        with pytest.raises(InvokeError) as info:
            client.call("api.fail")
        assert info.value.code == "not_found"
        with pytest.raises(InvokeError) as info:
            client.call("api.sleep", [30], timeout=0.1)
        assert info.value.code == "timeout"
    assert got == [("auroraview-client-events", 41), ("call", {"total": 42})]
    assert client.closed and client.close_code == 1000
    assert wait_until(lambda: client_threads() == [])
    with pytest.raises(InvokeError) as info:
        client.call("api.echo")
    assert info.value.code == "disconnected"


def test_sync_call_interrupted_by_a_signal_sends_cancel(server: FakeServer) -> None:
    class Interrupted(Exception):
        pass

    def on_alarm(signum: int, frame: Any) -> None:
        raise Interrupted  # as Ctrl-C's KeyboardInterrupt would, in the waiting thread

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        with connect(server.url) as client:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            with pytest.raises(Interrupted):
                client.call("api.sleep", [30])
            assert wait_until(lambda: server.messages("cancel") == [{"type": "cancel", "id": 1}])
            assert client.call("api.echo", ["still open"]) == "still open"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_sync_client_drop_calls_on_disconnect_on_its_event_thread(server: FakeServer) -> None:
    gone: list[tuple[str, int]] = []
    client = connect(
        server.url, on_disconnect=lambda code, reason: gone.append((threading.current_thread().name, code))
    )
    try:
        failures: list[InvokeError] = []

        def call_in_flight() -> None:
            try:
                client.call("api.sleep", [30])
            except InvokeError as exc:
                failures.append(exc)

        caller = threading.Thread(target=call_in_flight)
        caller.start()
        assert wait_until(lambda: server.messages("call"))
        server.kick(code=4003, reason="token revoked")
        caller.join(5)
        assert [f.code for f in failures] == ["disconnected"]
        assert client.wait_closed(5)
        assert wait_until(lambda: gone == [("auroraview-client-events", 4003)])
    finally:
        client.close()
    assert wait_until(lambda: client_threads() == [])


def test_sync_client_close_from_a_handler(server: FakeServer) -> None:
    client = connect(server.url)
    client.on("bye", lambda _: client.close())
    server.emit("bye")
    assert client.wait_closed(5)
    assert wait_until(lambda: client_threads() == [])


def test_sync_connect_errors_leave_no_threads(server: FakeServer) -> None:
    with pytest.raises(AuthenticationError):
        connect(server.ws_url, "w" * 43)
    assert wait_until(lambda: client_threads() == [])


# -- against the real server (tests/net/app.py), once it exists --------------------------------

needs_server = pytest.mark.skipif(
    not hasattr(auroraview.App, "serve") or not hasattr(auroraview._core, "Server"), reason="server not built yet"
)


def _net_app() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "net" / "app.py"
    spec = importlib.util.spec_from_file_location("auroraview_net_test_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the handlers' annotations there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def real_app() -> Iterator[Any]:
    app = auroraview.App(_net_app().commands)
    yield app
    app.close()


@pytest.fixture(scope="module")
def real_server(real_app: Any) -> Iterator[Any]:
    server: Any = real_app.serve(host="127.0.0.1", port=0, expose="all")
    yield server
    server.close()


@needs_server
def test_real_calls_errors_and_events(real_server: Any) -> None:
    got: list[Any] = []
    seen = threading.Event()
    with connect(real_server.ws_url, real_server.token) as client:
        client.on("client_event_seen", lambda d: (got.append(d), seen.set()))
        assert client.call("api.add", {"a": 1, "b": 2}) == {"total": 3}
        with pytest.raises(InvokeError) as info:
            client.call("api.fail", {"what": "file"})
        assert (info.value.code, info.value.data) == ("not_found", {"what": "file"})
        with pytest.raises(InvokeError) as info:
            client.call("api.add", {"a": 1, "b": -1})
        assert info.value.code == "invalid_params"
        with pytest.raises(InvokeError) as info:
            client.call("api.sleep", {"seconds": 30}, timeout=0.2)
        assert info.value.code == "timeout"
        client.send_event("client_event", {"n": 1})
        assert seen.wait(5)
    assert got == [{"n": 1}]


@needs_server
async def test_real_async_client_and_printed_url(real_server: Any) -> None:
    url = f"http://127.0.0.1:{real_server.port}/?token={real_server.token}"
    async with await connect_async(url) as client:
        assert isinstance(client, AsyncClient)
        events: list[Any] = []
        client.on("tick", events.append)
        assert await client.call("api.emit", {"event": "tick", "payload": {"x": 1}, "count": 3}) == 3
        await client.call("api.echo", {"value": 0})
        assert [e["i"] for e in events] == [0, 1, 2]


@needs_server
async def test_real_events_queued_together_come_in_batches_each_once_in_order(real_server: Any) -> None:
    async with await connect_async(real_server.ws_url, real_server.token) as client:
        assert client._ws.subprotocol == "auroraview.batch"  # pyright: ignore[reportPrivateUsage]
        messages = 0
        on_message = client._on_message  # pyright: ignore[reportPrivateUsage]

        async def counted(text: str) -> None:
            nonlocal messages
            messages += 1
            await on_message(text)

        client._on_message = counted  # type: ignore[method-assign]  # pyright: ignore[reportPrivateUsage]
        events: list[Any] = []
        client.on("tick", events.append)
        n = 2_000
        assert await client.call("api.emit", {"event": "tick", "payload": {}, "count": n}) == n
        await client.call("api.echo", {"value": 0})
        assert [e["i"] for e in events] == list(range(n))
        assert messages < n, f"{messages} WebSocket messages for {n} events and 2 replies: none batched"


@needs_server
def test_real_wrong_token_is_refused(real_server: Any) -> None:
    with pytest.raises(AuthenticationError):
        connect(real_server.ws_url, "w" * 43)


@needs_server
def test_real_revoked_token_closes_with_4003(real_server: Any) -> None:
    token = "r" * 43
    real_server.add_token(token, transport="network", peer="revocable")
    gone: list[tuple[int, str]] = []
    with connect(real_server.ws_url, token, on_disconnect=lambda c, r: gone.append((c, r))) as client:
        assert client.call("api.echo", {"value": 1}) == 1
        real_server.revoke_token(token)
        assert client.wait_closed(5)
        assert client.close_code == 4003
        assert wait_until(lambda: [c for c, _ in gone] == [4003])
    with pytest.raises(AuthenticationError):
        connect(real_server.ws_url, token)


@needs_server
def test_real_heartbeat_keeps_an_idle_client_and_shutdown_is_1001(real_app: Any) -> None:
    server: Any = real_app.serve(host="127.0.0.1", port=0, expose="all", heartbeat=0.1, heartbeat_timeout=0.3)
    try:
        with connect(server.ws_url, server.token, timeout=0.3) as client:
            assert client.heartbeat == pytest.approx(0.1)  # from the welcome
            time.sleep(1.0)  # > heartbeat + timeout on both sides: only pings and pongs flowed
            assert not client.closed
            assert client.call("api.echo", {"value": "alive"}) == "alive"
            server.close()
            assert client.wait_closed(5)
            assert client.close_code == 1001
    finally:
        server.close()
