"""A stand-in for the Rust network server, written from docs/network.md, so the Python client
(`auroraview.client`) and the child-process API (`auroraview.children`) are tested on their
own — and before the real server exists. It is the spec as a test double: token at the
upgrade or in a first ``hello`` (else 4001; HTTP 401 on request), the welcome, heartbeats both ways
(4002), calls to plain Python functions, events both ways, tokens added and revoked (4003).
Knobs make it misbehave on purpose: go silent, drop a connection, refuse, skip the welcome.

It runs its own asyncio loop in a thread; every public method is safe from any thread.
`FakeApp` is the part of `App` that `ChildManager` uses (serve, emit, connections, the
event tap), over `FakeServer`s.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic_core import from_json, to_json
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

T = TypeVar("T")

#: ``tap(conn, info, event, detail)``: an event a client sent (``detail``: its JSON bytes).
EventTap = Callable[[int, dict[str, Any], str, bytes], None]


class FakeInvokeError(Exception):
    """Raise from a fake handler to reply ``{ok: false, error: {...}}``."""

    def __init__(self, name: str, code: str, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.wire = {"name": name, "code": code, "message": message, "data": data}


@dataclass
class FakeConn:
    id: int
    ws: ServerConnection
    token: str
    transport: str
    peer: str | None
    last_recv: float = 0.0
    last_send: float = 0.0
    calls: dict[Any, asyncio.Task[None]] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "transport": self.transport, "window": None, "origin": None, "peer": self.peer}


def _bearer(headers: Headers) -> str | None:
    auth = headers.get("Authorization")
    if auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    return token if scheme == "Bearer" else ""


class FakeServer:
    """``with FakeServer(handlers={"api.add": add}) as server: connect(server.url)``."""

    def __init__(
        self,
        handlers: dict[str, Callable[..., Any]] | None = None,
        *,
        token: str | None = None,
        heartbeat_ms: int = 15_000,
        heartbeat_timeout: float = 10.0,
        hello_timeout: float = 10.0,
        header_auth: bool = True,
        refuse_status: int | None = None,
        wrong_token_http: bool = False,
        welcome: dict[str, Any] | bool = True,
    ) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.handlers = dict(handlers or {})
        self.heartbeat_ms = heartbeat_ms
        self.heartbeat_timeout = heartbeat_timeout
        self.hello_timeout = hello_timeout
        self.header_auth = header_auth  # False: ignore the header, insist on a hello
        self.refuse_status = refuse_status  # refuse every upgrade with this HTTP status
        # A wrong header token: closed with 4001 after the upgrade (the spec), or HTTP 401.
        self.wrong_token_http = wrong_token_http
        self.welcome = welcome  # True: the spec's; a dict: sent instead; False: none
        self.tokens: dict[str, tuple[str, str | None]] = {self.token: ("network", None)}
        self.conns: dict[int, FakeConn] = {}
        #: Every message received after authentication: (conn id, message).
        self.received: list[tuple[int, dict[str, Any]]] = []
        self.closed_conns: list[tuple[int, int | None]] = []  # (conn id, close code sent or received)
        self.auth_failures = 0
        self.auth_headers: list[str | None] = []
        self.frozen = False
        self.taps: list[EventTap] = []
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-server", daemon=True)
        self._server: Server | None = None
        self.port = 0
        self.closed = False
        self._closing: set[asyncio.Future[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeServer:
        self._thread.start()
        self._server = self._run(self._start())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _start(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            ping_interval=None,
            compression=None,
            max_size=None,
        )

    def close(self) -> None:
        """Shut down (1001 to every connection) and stop the loop."""
        self.closed = True
        if self._server is not None:
            server, self._server = self._server, None
            self._run(self._close(server))
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    async def _close(self, server: Server) -> None:
        try:
            server.close(code=1001, reason="server shutting down")
        except TypeError:  # websockets < 16: always 1001, no reason
            server.close()
        await server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/__auroraview/ws"

    @property
    def url(self) -> str:
        """What the server prints."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- control (any thread) -------------------------------------------------------------

    def add_token(self, token: str, *, transport: str = "child", peer: str) -> None:
        self._run(self._set_token(token, (transport, peer)))

    async def _set_token(self, token: str, identity: tuple[str, str | None]) -> None:
        self.tokens[token] = identity

    def revoke_token(self, token: str) -> None:
        self._run(self._revoke(token))

    async def _revoke(self, token: str) -> None:
        self.tokens.pop(token, None)
        for conn in list(self.conns.values()):
            if conn.token == token:
                self._close_soon(conn, 4003, "token revoked")

    def _close_soon(self, conn: FakeConn, code: int, reason: str) -> None:
        # Not awaited: the closing handshake needs the client, which may be blocked on
        # the caller of this method (an async test calling it synchronously).
        task = asyncio.ensure_future(conn.ws.close(code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def emit(self, event: str, payload: Any = None, *, to: Any = None) -> int:
        return self._run(self._emit(event, payload, to))

    async def _emit(self, event: str, payload: Any, to: Any) -> int:
        frame = to_json({"type": "event", "event": event, "payload": payload}).decode()
        sent = 0
        for conn in list(self.conns.values()):
            if _matches(conn, to):
                await self._send(conn, frame)
                sent += 1
        return sent

    def kick(self, conn_id: int | None = None, code: int = 1000, reason: str = "") -> None:
        """Close a connection (every one: None) with ``code``."""
        self._run(self._kick(conn_id, code, reason))

    async def _kick(self, conn_id: int | None, code: int, reason: str) -> None:
        for conn in list(self.conns.values()):
            if conn_id is None or conn.id == conn_id:
                self._close_soon(conn, code, reason)

    def drop(self, conn_id: int | None = None) -> None:
        """Cut a connection's TCP stream, no close frame (a crashed server, a pulled cable)."""
        self._run(self._drop(conn_id))

    async def _drop(self, conn_id: int | None) -> None:
        for conn in list(self.conns.values()):
            if conn_id is None or conn.id == conn_id:
                conn.ws.transport.abort()

    def freeze(self) -> None:
        """Go silent: read nothing, answer nothing, ping nobody (a hung server)."""
        self.frozen = True

    def connections(self) -> list[dict[str, Any]]:
        return self._run(self._infos())

    async def _infos(self) -> list[dict[str, Any]]:
        return [c.info() for c in self.conns.values()]

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for _, m in list(self.received) if kind is None or m.get("type") == kind]

    # -- the connection -----------------------------------------------------------------

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.auth_headers.append(request.headers.get("Authorization"))
        if self.refuse_status is not None:
            return connection.respond(HTTPStatus(self.refuse_status), "refused\n")
        token = _bearer(request.headers)
        if self.wrong_token_http and self.header_auth and token is not None and token not in self.tokens:
            self.auth_failures += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "wrong token\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        token = _bearer(ws.request.headers) if self.header_auth and ws.request is not None else None
        if token is not None and token not in self.tokens:
            self.auth_failures += 1
            await ws.close(4001, "not authenticated")
            return
        if token is None:
            token = await self._hello(ws)
            if token is None:
                self.auth_failures += 1
                await ws.close(4001, "not authenticated")
                return
        transport, peer = self.tokens[token]
        now = time.monotonic()
        conn = FakeConn(next(self._ids), ws, token, transport, peer, now, now)
        beat = asyncio.create_task(self._beat(conn))
        try:
            if self.welcome is True:
                welcome: dict[str, Any] = {
                    "type": "welcome",
                    "conn": conn.id,
                    "heartbeat_ms": self.heartbeat_ms,
                    "protocol": 1,
                }
                await self._send(conn, to_json(welcome).decode())
            elif isinstance(self.welcome, dict):
                await self._send(conn, to_json(self.welcome).decode())
            self.conns[conn.id] = conn  # open: events reach it from now on, after its welcome
            while True:
                frame = await ws.recv()
                if self.frozen:
                    continue
                conn.last_recv = time.monotonic()
                await self._on_message(conn, from_json(frame))
        except ConnectionClosed:
            pass
        finally:
            beat.cancel()
            for task in conn.calls.values():
                task.cancel()
            self.conns.pop(conn.id, None)
            self.closed_conns.append((conn.id, ws.protocol.close_code))

    async def _hello(self, ws: ServerConnection) -> str | None:
        try:
            first = from_json(await asyncio.wait_for(ws.recv(), self.hello_timeout))
        except (asyncio.TimeoutError, ValueError, ConnectionClosed):
            return None
        if isinstance(first, dict) and first.get("type") == "hello" and first.get("key") in self.tokens:
            return first["key"]
        return None

    async def _send(self, conn: FakeConn, frame: str) -> None:
        if self.frozen:
            return
        try:
            await conn.ws.send(frame)
        except ConnectionClosed:
            return
        conn.last_send = time.monotonic()

    async def _beat(self, conn: FakeConn) -> None:
        hb = self.heartbeat_ms / 1000
        while True:
            now = time.monotonic()
            if self.frozen:
                await asyncio.sleep(0.01)
                continue
            if now - conn.last_recv > hb + self.heartbeat_timeout:
                await conn.ws.close(4002, "heartbeat timeout")
                return
            if now - conn.last_send >= hb:
                await self._send(conn, '{"type":"ping"}')
            await asyncio.sleep(min(hb, 0.05))

    async def _on_message(self, conn: FakeConn, msg: Any) -> None:
        self.received.append((conn.id, msg))
        kind = msg.get("type")
        if kind == "ping":
            await self._send(conn, '{"type":"pong"}')
        elif kind == "call":
            conn.calls[msg["id"]] = asyncio.create_task(self._call(conn, msg))
        elif kind == "cancel":
            task = conn.calls.pop(msg.get("id"), None)
            if task is not None:
                task.cancel()
        elif kind == "event":
            detail = to_json(msg["detail"]) if "detail" in msg else b""
            for tap in list(self.taps):
                tap(conn.id, conn.info(), msg["event"], detail)

    async def _call(self, conn: FakeConn, msg: dict[str, Any]) -> None:
        call_id = msg["id"]
        reply: dict[str, Any] = {"type": "call_result", "id": call_id}
        fn = self.handlers.get(msg["method"])
        try:
            if fn is None:
                raise FakeInvokeError("MethodNotFound", "method_not_found", f"no command {msg['method']!r}")
            params = msg.get("params")
            if isinstance(params, dict):
                result = fn(**params)
            elif isinstance(params, list):
                result = fn(*params)
            else:
                result = fn()
            if inspect.isawaitable(result):
                result = await result
            reply.update(ok=True, result=result)
        except FakeInvokeError as exc:
            reply.update(ok=False, error=exc.wire)
        except asyncio.CancelledError:
            reply.update(
                ok=False, error={"name": "Cancelled", "code": "cancelled", "message": "cancelled", "data": None}
            )
        finally:
            conn.calls.pop(call_id, None)
        await self._send(conn, to_json(reply).decode())


def _matches(conn: FakeConn, to: Any) -> bool:
    if to is None:
        return True
    if isinstance(to, int):
        return conn.id == to
    kind, value = to
    if kind == "child":
        return conn.transport == "child" and conn.peer == value
    if kind == "transport":
        return conn.transport == value
    if kind == "conn":
        return conn.id == value
    raise ValueError(f"unknown target {to!r}")


class FakeApp:
    """What `ChildManager` uses of an `App`, over fake servers."""

    def __init__(self, handlers: dict[str, Callable[..., Any]] | None = None, **server_options: Any) -> None:
        self.handlers = dict(handlers or {})
        self.server_options = server_options
        self.servers: list[FakeServer] = []
        self.taps: list[Callable[[int, dict[str, Any] | None, str, bytes], None]] = []
        self.events: list[tuple[int, str, bytes]] = []  # what commands.on handlers would get
        self.serve_calls: list[dict[str, Any]] = []

    def serve(self, *, host: str = "127.0.0.1", port: int = 0, expose: str = "declared") -> FakeServer:
        self.serve_calls.append({"host": host, "port": port, "expose": expose})
        server = FakeServer(self.handlers, **self.server_options)
        server.taps.append(self._on_event)
        self.servers.append(server.start())
        return server

    def _on_event(self, conn: int, info: dict[str, Any], event: str, detail: bytes) -> None:
        self.events.append((conn, event, detail))
        # As the real core does: the sender's child id, read when the event arrived.
        child = info.get("peer") if info.get("transport") == "child" else None
        for tap in list(self.taps):
            tap(conn, child, event, detail)

    def _add_event_tap(self, tap: Callable[[int, str | None, str, bytes], None]) -> None:
        self.taps.append(tap)

    def emit(self, event: str, payload: Any = None, *, to: Any = None) -> int:
        return sum(s.emit(event, payload, to=to) for s in self.servers if not s.closed)

    def connections(self) -> list[dict[str, Any]]:
        return [info for s in self.servers if not s.closed for info in s.connections()]

    def connection_info(self, conn: int) -> dict[str, Any] | None:
        return next((c for c in self.connections() if c["id"] == conn), None)

    def close(self) -> None:
        for server in self.servers:
            server.close()


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
