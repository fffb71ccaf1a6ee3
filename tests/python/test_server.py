"""The network server (docs/network.md) spoken to raw, frame by frame, with the `websockets`
library: authentication, origins, close codes, limits, backpressure, heartbeats, access
rules, metrics and HTTP assets. Every refusal is counted and reaches no handler."""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from auroraview import App, Commands
from auroraview.server import Server


class Counted:
    """A registry whose handlers count their invocations."""

    def __init__(self) -> None:
        self.commands = Commands()
        self.invocations = 0
        commands = self.commands

        @commands.command("api.add", transports=("network", "window"))
        def add(a: int, b: int) -> int:
            self.invocations += 1
            return a + b

        @commands.command("api.local")
        def local() -> str:
            """No rules: windows and in-process clients only, unless the server exposes all."""
            self.invocations += 1
            return "local"

        @commands.command("api.tools", transports=("network",), origins=("https://tools.example.com",))
        def tools() -> str:
            self.invocations += 1
            return "tools"

        @commands.command("api.flood", transports=("network",))
        def flood(n: int, size: int) -> int:
            self.invocations += 1
            for i in range(n):
                commands.emit("blob", {"i": i, "data": "x" * size})
            return n

        @commands.on("note")
        def note(detail: Any) -> None:
            self.invocations += 1


@pytest.fixture
def counted() -> Counted:
    return Counted()


@pytest.fixture
def server(counted: Counted) -> Iterator[Server]:
    app = App(counted.commands)
    srv = app.serve(heartbeat=30)
    yield srv
    srv.close()
    app.close()


def token_protocols(token: str) -> list[Subprotocol]:
    """How a browser presents the token: as a subprotocol offered at the upgrade."""
    return [Subprotocol("auroraview"), Subprotocol(f"auroraview.token.{token}")]


def hello(srv: Server, token: str | None = None, **kw: Any) -> ClientConnection:
    ws = connect(srv.ws_url, open_timeout=5, legacy=True, subprotocols=token_protocols(token or srv.token), **kw)
    assert ws.subprotocol == "auroraview"
    welcome = json.loads(ws.recv(timeout=5))
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1
    return ws


def call(ws: ClientConnection, method: str, params: Any = None, id: int = 1) -> dict[str, Any]:
    ws.send(json.dumps({"type": "call", "id": id, "method": method, "params": params}))
    while True:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] == "call_result":
            assert frame["id"] == id
            return frame


def closed_with(ws: ClientConnection) -> int | None:
    try:
        while True:
            ws.recv(timeout=5)
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- the happy path ------------------------------------------------------------------


def test_calls_errors_and_events_over_the_socket(server: Server, counted: Counted) -> None:
    with hello(server) as ws:
        assert call(ws, "api.add", {"a": 2, "b": 3})["result"] == 5
        bad = call(ws, "api.add", {"a": "x", "b": 3}, id=2)["error"]
        assert bad["code"] == "invalid_params" and bad["data"]["errors"][0]["loc"] == ["a"]
        missing = call(ws, "api.nope", id=3)["error"]
        assert missing["code"] == "method_not_found"
        assert counted.invocations == 1
        assert server.app.emit("pushed", {"n": 1}) == 1
        assert json.loads(ws.recv(timeout=5)) == {"type": "event", "event": "pushed", "payload": {"n": 1}}
        conns = server.app.connections()
        assert [c["transport"] for c in conns] == ["network"]


def test_bearer_header_authenticates_at_the_upgrade(server: Server) -> None:
    with connect(server.ws_url, additional_headers={"Authorization": f"Bearer {server.token}"}) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        assert call(ws, "api.add", {"a": 1, "b": 1})["result"] == 2
        ws.send(json.dumps({"type": "hello", "key": server.token}))  # ignored once authenticated
        assert call(ws, "api.add", {"a": 1, "b": 2}, id=2)["result"] == 3


def test_heartbeat_pings_are_answered(server: Server) -> None:
    with hello(server) as ws:
        ws.send('{"type":"ping"}')
        assert json.loads(ws.recv(timeout=5)) == {"type": "pong"}


# -- refusals: counted, and no handler runs -------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        None,
        '{"type":"hello","key":"%s"}',
        '{"type":"call","id":1,"method":"api.add","params":{"a":1,"b":2}}',
        "x" * 100_000,
    ],
    ids=["silence", "hello-with-the-right-token", "call", "large-frame"],
)
def test_no_credentials_at_the_upgrade_closes_4001_before_reading(server: Server, counted: Counted, first: str | None) -> None:
    # Nothing is read from a socket that did not authenticate at the upgrade: not even a
    # `hello` holding the right token (a first-frame login would let anyone make the server
    # buffer a frame of the full size limit).
    with connect(server.ws_url) as ws:
        if first is not None:
            with contextlib.suppress(ConnectionClosed):  # it may be closed before the send
                ws.send(first % server.token if "%s" in first else first)
        assert closed_with(ws) == 4001
    assert counted.invocations == 0
    assert server.stats()["server"]["auth_failures"] == 1
    assert server.stats()["server"]["connections_open"] == 0


@pytest.mark.parametrize("header", ["Authorization", "Cookie", "Sec-WebSocket-Protocol"])
def test_a_wrong_token_at_the_upgrade_closes_4001(server: Server, counted: Counted, header: str) -> None:
    # Accepted then closed 4001 rather than HTTP 401: a browser sees an HTTP refusal only as
    # 1006 and would retry a stale cookie forever.
    wrong = "B" * 43
    if header == "Sec-WebSocket-Protocol":
        ws = connect(server.ws_url, subprotocols=token_protocols(wrong))
    else:
        value = f"Bearer {wrong}" if header == "Authorization" else f"auroraview_token_{server.port}={wrong}"
        ws = connect(server.ws_url, additional_headers={header: value})
    with ws:
        assert closed_with(ws) == 4001
    assert server.stats()["server"]["auth_failures"] == 1 and counted.invocations == 0


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null"])
def test_foreign_origins_are_refused(server: Server, counted: Counted, origin: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(server.ws_url, origin=origin)  # type: ignore[arg-type]
    assert info.value.response.status_code == 403
    assert server.stats()["server"]["refused_origin"] == 1 and counted.invocations == 0


def test_own_and_allowed_origins_are_accepted(counted: Counted) -> None:
    app = App(counted.commands)
    srv = app.serve(origins=["https://tools.example.com"])
    try:
        for origin in (f"http://127.0.0.1:{srv.port}", f"http://localhost:{srv.port}", "https://tools.example.com"):
            with hello(srv, origin=origin) as ws:
                assert call(ws, "api.add", {"a": 1, "b": 2})["result"] == 3
    finally:
        srv.close()
        app.close()


def test_binary_messages_that_are_not_frames_close_1003(server: Server, counted: Counted) -> None:
    with hello(server) as ws:
        ws.send(b'{"type":"call","id":1,"method":"api.add","params":{"a":1,"b":2}}')
        assert closed_with(ws) == 1003
    assert counted.invocations == 0 and server.stats()["server"]["binary_refused"] == 1


def test_garbage_without_an_id_closes_1007(server: Server, counted: Counted) -> None:
    with hello(server) as ws:
        ws.send("{not json")
        assert closed_with(ws) == 1007
    assert counted.invocations == 0 and server.stats()["server"]["invalid_frames"] == 1


def test_a_broken_call_with_an_id_is_answered_and_the_socket_stays(server: Server, counted: Counted) -> None:
    with hello(server) as ws:
        ws.send('{"type":"call","id":7,"method":"api.add","params":{"a":1,"b":2},}')
        frame = json.loads(ws.recv(timeout=5))
        assert frame["id"] == 7 and frame["error"]["code"] == "invalid_message"
        assert call(ws, "api.add", {"a": 1, "b": 2}, id=8)["result"] == 3
    assert counted.invocations == 1


def test_oversize_messages(server: Server, counted: Counted) -> None:
    limit = server.app.core.limits()["max_message_bytes"]
    with hello(server) as ws:
        # Over the limit but readable: answered payload_too_large, the socket stays.
        ws.send(json.dumps({"type": "call", "id": 1, "method": "api.add", "params": {"a": 1, "b": 2, "pad": "x" * limit}}))
        frame = json.loads(ws.recv(timeout=5))
        assert frame["id"] == 1 and frame["error"]["code"] == "payload_too_large"
        # Over twice the limit: the frame is not read to its end; the server sends 1009 and
        # drops the socket (the client may see the TCP reset before the close frame).
        try:
            ws.send("x" * (2 * limit + 10))
            code = closed_with(ws)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        assert code in (1009, None)
    assert counted.invocations == 0
    assert server.stats()["server"]["too_large_frames"] == 1


def test_the_in_flight_limit_applies_per_connection(counted: Counted) -> None:
    app = App(counted.commands, limits={"max_in_flight": 2})
    gate: list[int] = []

    @counted.commands.command("api.block", transports=("network",))
    async def block() -> None:
        import asyncio

        gate.append(1)
        await asyncio.sleep(3)

    srv = app.serve()
    try:
        with hello(srv) as ws, hello(srv) as other:
            for i in range(2):
                ws.send(json.dumps({"type": "call", "id": i, "method": "api.block"}))
            wait_for(lambda: len(gate) == 2)
            over = call(ws, "api.add", {"a": 1, "b": 1}, id=99)["error"]
            assert over["code"] == "overloaded"
            assert call(other, "api.add", {"a": 1, "b": 1})["result"] == 2, "another connection is not limited"
    finally:
        srv.close()
        app.close()


def test_a_slow_consumer_is_cut_off_and_memory_stays_bounded(counted: Counted) -> None:
    app = App(counted.commands)
    srv = app.serve(max_outbound_bytes=256 * 1024)
    try:
        ws = hello(srv, max_size=None)
        # The client reads nothing while 20 MB of events are pushed to it.
        ws.send(json.dumps({"type": "call", "id": 1, "method": "api.flood", "params": {"n": 2000, "size": 10_000}}))
        try:
            wait_for(lambda: srv.stats()["server"]["slow_consumers"] == 1, timeout=20)
        except AssertionError:
            raise AssertionError(f"{srv.stats()} {app.stats()} {counted.invocations}") from None
        assert closed_with(ws) == 4008
        # Every queued byte is released: at once for what the session had queued; a frame
        # the handler's thread was handing over as the session closed, a moment later (CI
        # once read 10,061 here, one event, right after the close).
        wait_for(lambda: srv.stats()["server"]["queued_bytes"] == 0, timeout=5)
        ws.close()
    finally:
        srv.close()
        app.close()


def test_a_silent_client_is_closed_4002(counted: Counted) -> None:
    app = App(counted.commands)
    srv = app.serve(heartbeat=0.2, heartbeat_timeout=0.3)
    try:
        # websockets answers protocol pings by itself but not our JSON pings: it goes silent.
        ws = connect(srv.ws_url, ping_interval=None, legacy=True, subprotocols=token_protocols(srv.token))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        started = time.monotonic()
        frames = []
        try:
            while True:
                frames.append(json.loads(ws.recv(timeout=5)))
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4002
        assert {"type": "ping"} in frames
        assert time.monotonic() - started < 3
        assert srv.stats()["server"]["heartbeat_timeouts"] == 1
    finally:
        srv.close()
        app.close()


def test_closing_the_server_closes_clients_1001_and_cancels_their_calls(counted: Counted) -> None:
    app = App(counted.commands)
    started: list[int] = []

    @counted.commands.command("api.forever", transports=("network",))
    async def forever() -> None:
        import asyncio

        started.append(1)
        await asyncio.sleep(60)

    srv = app.serve()
    ws = hello(srv)
    ws.send(json.dumps({"type": "call", "id": 1, "method": "api.forever"}))
    wait_for(lambda: started == [1])
    srv.close()
    assert closed_with(ws) == 1001
    assert app.core.in_flight == 0
    app.close()


# -- access rules --------------------------------------------------------------------


def test_declared_exposure_hides_commands_without_rules(server: Server, counted: Counted) -> None:
    with hello(server) as ws:
        err = call(ws, "api.local")["error"]
        assert err["code"] == "forbidden" and "transports=" in err["message"]
        # Origin rules: this client has no origin, so it is not tools.example.com.
        assert call(ws, "api.tools", id=2)["error"]["code"] == "forbidden"
    assert counted.invocations == 0
    assert server.app.stats()["forbidden"] == 2


def test_expose_all_serves_commands_without_rules(counted: Counted) -> None:
    app = App(counted.commands)
    srv = app.serve(expose="all", origins=["https://tools.example.com"])
    try:
        with hello(srv) as ws:
            assert call(ws, "api.local")["result"] == "local"
            ws.send(json.dumps({"type": "event", "event": "note", "detail": {"x": 1}}))
            wait_for(lambda: counted.invocations == 2, timeout=5)  # events reach their handlers
        with hello(srv, origin="https://tools.example.com") as ws:
            assert call(ws, "api.tools")["result"] == "tools"
    finally:
        srv.close()
        app.close()


def test_access_rules_are_checked_at_registration() -> None:
    commands = Commands()
    with pytest.raises(ValueError, match="unknown transport 'carrier'"):
        commands.add(lambda: None, "x", transports=("carrier",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an origin"):
        commands.add(lambda: None, "y", origins=("tools.example.com",))


# -- tokens for children ---------------------------------------------------------------


def test_child_tokens_identify_and_can_be_revoked(server: Server) -> None:
    child_token = "c" * 43
    server.add_token(child_token, transport="child", peer="worker-1")
    with hello(server, child_token) as ws:
        info = [c for c in server.app.connections() if c["transport"] == "child"]
        assert info and info[0]["peer"] == "worker-1"
        # Children see commands without rules (they are the app's own programs).
        assert call(ws, "api.local")["result"] == "local"
        assert server.app.emit("to-child", 1, to=("child", "worker-1")) == 1
        assert json.loads(ws.recv(timeout=5))["event"] == "to-child"
        assert server.revoke_token(child_token)
        assert closed_with(ws) == 4003
    with connect(server.ws_url, subprotocols=token_protocols(child_token)) as ws:
        assert closed_with(ws) == 4001


# -- metrics and stats -------------------------------------------------------------------


def test_metrics_count_commands_by_outcome(counted: Counted) -> None:
    app = App(counted.commands)
    srv = app.serve(metrics=True)
    try:
        with hello(srv) as ws:
            call(ws, "api.add", {"a": 1, "b": 2})
            call(ws, "api.add", {"a": "x", "b": 2}, id=2)
        text = srv.metrics_text()
        assert 'auroraview_command_calls_total{command="api.add",outcome="ok"} 1' in text
        assert 'auroraview_command_calls_total{command="api.add",outcome="error",code="invalid_params"} 1' in text
        assert 'auroraview_command_seconds_count{command="api.add"} 2' in text
        assert "auroraview_net_connections_total 1" in text
        status, body, _ = http_get(srv, "/__auroraview/metrics", headers={"Authorization": f"Bearer {srv.token}"})
        assert status == 200 and b"auroraview_command_seconds_bucket" in body
        assert http_get(srv, "/__auroraview/metrics")[0] == 401
    finally:
        srv.close()
        app.close()


def test_metrics_are_opt_in(server: Server) -> None:
    assert http_get(server, "/__auroraview/metrics", headers={"Authorization": f"Bearer {server.token}"})[0] == 404


# -- HTTP assets ----------------------------------------------------------------------------


def http_get(srv: Server, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        res = conn.getresponse()
        return res.status, res.read(), {k.lower(): v for k, v in res.getheaders()}
    finally:
        conn.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><html><head><title>t</title></head><body>hi</body></html>")
    (root / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("secret")
    return root


def test_a_navigation_to_an_spa_route_gets_the_index_and_missing_files_stay_404(counted: Counted, site: Path) -> None:
    app = App(counted.commands)
    srv = app.serve(assets=site)
    try:
        auth = {"Authorization": f"Bearer {srv.token}"}
        page = {**auth, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        status, body, _ = http_get(srv, "/settings/profile?tab=2", page)
        assert status == 200 and b"<body>hi</body>" in body, "a deep link opens the app (the client injected too)"
        assert b"/__auroraview/client.js" in body
        assert http_get(srv, "/settings/profile", {**page, "Sec-Fetch-Mode": "cors"})[0] == 404, "a fetch() of a route"
        assert http_get(srv, "/settings/profile", auth)[0] == 404, "no Accept: not a navigation"
        assert http_get(srv, "/missing.js", page)[0] == 404, "a file name stays 404"
        assert http_get(srv, "/app.js", page)[1] == b"console.log(1)"
    finally:
        srv.close()
        app.close()


def test_assets_need_the_token_then_a_cookie(counted: Counted, site: Path) -> None:
    app = App(counted.commands)
    srv = app.serve(assets=site)
    try:
        assert http_get(srv, "/")[0] == 401
        assert http_get(srv, "/?token=wrong")[0] == 401
        status, _, headers = http_get(srv, f"/?token={srv.token}&x=1")
        assert status == 303 and headers["location"] == "/?x=1"
        status, _, redirect = http_get(srv, f"//evil.example/x?token={srv.token}")
        assert status == 303 and redirect["location"] == "/evil.example/x", "never to another host"
        cookie = headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"auroraview_token_{srv.port}=" in cookie
        jar = {"Cookie": cookie.split(";")[0]}
        status, body, headers = http_get(srv, "/", jar)
        assert status == 200
        assert body.startswith(b'<!doctype html><html><head><script src="/__auroraview/client.js"></script>')
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert http_get(srv, "/app.js", jar)[1] == b"console.log(1)"
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%252e%252e/secret.txt"):
            status, body, _ = http_get(srv, path, jar)
            assert status in (403, 404) and b"secret" not in body, path
        status, body, _ = http_get(srv, "/__auroraview/client.js")
        assert status == 200 and b"auroraview" in body
        # The cookie authenticates the socket, as it does for the served page.
        with connect(srv.ws_url, additional_headers=jar, origin=f"http://127.0.0.1:{srv.port}") as ws:  # type: ignore[arg-type]
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        stats = json.loads(http_get(srv, "/__auroraview/stats", jar)[1])
        assert stats["server"]["connections_total"] == 1
    finally:
        srv.close()
        app.close()


def test_serving_elsewhere_than_loopback_warns(counted: Counted) -> None:
    app = App(counted.commands)
    with pytest.warns(RuntimeWarning, match="reachable from other machines"):
        srv = app.serve("0.0.0.0")
    srv.close()
    app.close()


def test_a_taken_port_is_an_error_now(server: Server) -> None:
    other = App(Commands())
    with pytest.raises(OSError, match="cannot listen"):
        other.serve(port=server.port)
    other.close()


def test_bad_settings_are_refused() -> None:
    app = App(Commands())
    with pytest.raises(ValueError, match="token must be"):
        app.serve(token="short")
    with pytest.raises(ValueError, match="expose must be"):
        app.serve(expose="some")  # type: ignore[arg-type]
    app.close()


def test_an_oversized_message_without_an_id_closes_1009(server: Server, counted: Counted) -> None:
    limit = server.app.core.limits()["max_message_bytes"]
    with hello(server) as ws:
        try:
            ws.send(json.dumps({"type": "event", "event": "note", "detail": "x" * limit}))
            code = closed_with(ws)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
        assert code in (1009, None)
    assert counted.invocations == 0
    stats = server.stats()["server"]
    assert (stats["too_large_frames"], stats["invalid_frames"]) == (1, 0)


def test_events_do_not_reach_handlers_through_a_declared_server(server: Server, counted: Counted) -> None:
    # Events have no access rules: a network client that sees only declared commands reaches
    # no event handler written for the app's windows.
    with hello(server) as ws:
        ws.send(json.dumps({"type": "event", "event": "note", "detail": {"x": 1}}))
        assert call(ws, "api.add", {"a": 1, "b": 1})["result"] == 2  # the socket stays open
    assert counted.invocations == 1, "only api.add ran"
    assert server.app.stats()["forbidden"] == 1


def test_a_client_that_floods_pings_and_never_reads_is_cut_off(counted: Counted) -> None:
    # Pongs go through the bounded queue like every frame, and a write blocked on a client
    # that does not read still ends at the client's heartbeat deadline: a client that only
    # writes cannot pin its connection (before, a direct write waited on it forever).
    import base64
    import os
    import socket

    app = App(counted.commands)
    srv = app.serve(max_outbound_bytes=64 * 1024, heartbeat=0.5, heartbeat_timeout=0.5)
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((srv.host, srv.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /__auroraview/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {srv.token}\r\n\r\n"
            ).encode()
        )
        mask = b"\x01\x02\x03\x04"
        ping = b'{"type":"ping"}'
        frame = bytes([0x81, 0x80 | len(ping)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(ping))
        sock.setblocking(False)
        deadline = time.monotonic() + 20
        ended = ("slow_consumers", "heartbeat_timeouts")
        while not any(srv.stats()["server"][k] for k in ended):
            assert time.monotonic() < deadline, srv.stats()["server"]
            try:
                sock.send(frame * 500)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break  # the server dropped it
        wait_for(lambda: srv.stats()["server"]["connections_open"] == 0, timeout=5)
        assert counted.invocations == 0
    finally:
        sock.close()
        srv.close()
        app.close()


def test_a_handler_can_close_its_own_server() -> None:
    # A sync handler closing the server must not wait for the runtime to stop: the runtime
    # waits for its running handlers, this one included (it hung 5 s, then raised).
    commands = Commands()
    box: dict[str, Any] = {}

    @commands.command("api.shutdown")
    def shutdown() -> None:
        started = time.monotonic()
        try:
            box["srv"].close()
        except BaseException as exc:
            box["error"] = repr(exc)
            raise
        finally:
            box["took"] = time.monotonic() - started

    app = App(commands)
    box["srv"] = srv = app.serve(expose="all")
    try:
        with hello(srv) as ws:
            ws.send(json.dumps({"type": "call", "id": 1, "method": "api.shutdown"}))
            frames = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    frames.append(json.loads(ws.recv(timeout=10)))
        wait_for(lambda: "took" in box, timeout=10)
        assert srv.closed
        assert "error" not in box and box["took"] < 1.0, box
        wait_for(lambda: app.runtime is None, timeout=5)
    finally:
        srv.close()
        app.close()


def test_what_was_queued_before_the_server_closed_still_leaves(counted: Counted) -> None:
    # A graceful stop (1001) delivers the replies and events already queued for a client
    # (answered before the stop), then closes: a caller whose handler stopped the server gets
    # its reply, not `disconnected`.
    app = App(counted.commands)
    srv = app.serve(expose="all")
    try:
        with hello(srv) as ws:
            assert call(ws, "api.add", {"a": 1, "b": 1})["result"] == 2
            # ~4.5 MB: most of it is still queued when the server closes (the client reads
            # nothing until then).
            for i in range(3000):
                app.emit("queued", {"i": i, "pad": "x" * 1500})
            time.sleep(0.2)
            srv.close()
            got = []
            with contextlib.suppress(ConnectionClosed):
                while True:
                    got.append(json.loads(ws.recv(timeout=5))["payload"]["i"])
            assert got == list(range(3000))
            assert ws.close_code == 1001
    finally:
        srv.close()
        app.close()
