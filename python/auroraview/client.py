"""The Python client of the network transport (docs/network.md): a script, a service or a
child process calling an app's commands and receiving its events over WebSocket.

    with connect("http://127.0.0.1:8765/?token=…") as client:      # the URL the server prints
        print(client.call("api.add", {"a": 1, "b": 2}))
        client.on("progress", print)

    async with await connect_async("ws://127.0.0.1:8765/__auroraview/ws", token) as client:
        await client.call("api.add", {"a": 1, "b": 2})

This module owns the client side of the wire: the token at the upgrade, the welcome, the
heartbeat both ways, calls and their replies (raw `bytes` as binary messages, docs/binary.md),
timeouts and cancels, events both ways, and the items of streams and channels with their
acknowledgements (docs/streams.md):

    for n in client.stream("count", {"n": 10}):          # a generator command
        if n == 5:
            break                                         # cancels it on the host
    client.call("export", {"path": p}, on_item=print)     # a command with a Channel[T]

One implementation, `AsyncClient`, speaks the protocol on an asyncio loop. `Client`, for
code that is not async, runs an `AsyncClient` on a private loop in a daemon thread and
blocks on it. That thread, and not ``websockets.sync``, because the heartbeat needs timers
that fire while the script is busy elsewhere, and one asyncio implementation with timers is
smaller and surer than a second one built from a reader thread, a pinger thread and locks.

A connection that drops (the server went away, it closed us, or it fell silent past the
heartbeat) fails the calls in flight at once with ``disconnected``, and so do streams in flight
(after the items they had received). By default that makes the client closed for good: later
calls fail too and ``on_disconnect`` is told. With ``reconnect=True`` the client dials again
(full-jitter backoff, 0.25 s doubling to 10 s, as the TypeScript client) after any close but
4001, 4003 and its own ``close()``; calls made meanwhile fail at once with ``disconnected``
(nothing is re-sent: a handler never runs twice), and once welcomed again every topic
subscription is sent again with its position (docs/topics.md):

    sub = client.subscribe("chat/lobby", on_message, on_recovery=on_recovery)
    client.publish("chat/lobby", "hello")                 # PublishResult(epoch, offset)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import ipaddress
import itertools
import logging
import queue
import random
import re
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic_core import from_json, to_json
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from . import _binary
from ._core import PROTOCOL_VERSION, AuroraViewError, decode_frame, encode_frame
from .errors import ERROR_NAMES, InvokeError

__all__ = [
    "WS_PATH",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ClientStats",
    "ConnectError",
    "Publication",
    "PublishResult",
    "RecoveryInfo",
    "Subscription",
    "SyncSubscription",
    "connect",
    "connect_async",
    "describe_close",
    "resolve_url",
]

log = logging.getLogger("auroraview.client")

T = TypeVar("T")

#: The WebSocket endpoint of every AuroraView server.
WS_PATH = "/__auroraview/ws"

#: What a server token looks like (docs/network.md, "Authentication").
_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")

#: Server heartbeat when a welcome does not say (the spec's default).
_DEFAULT_HEARTBEAT = 15.0

_PING = '{"type":"ping"}'
_PONG = '{"type":"pong"}'

#: Close codes, as a person reads them (docs/network.md, "Close codes").
_CLOSE_MEANINGS = {
    1000: "normal close",
    1001: "the server is shutting down",
    1003: "binary frame refused",
    1006: "connection lost",
    1007: "invalid message",
    1009: "message too large",
    1011: "server error",
    4001: "not authenticated",
    4002: "heartbeat timeout",
    4003: "token revoked",
    4008: "slow consumer",
}

#: An event handler: gets the payload. May return an awaitable (async client: run as a task).
EventHandler = Callable[[Any], object]
#: A handler of every event: gets the event name and the payload.
AnyEventHandler = Callable[[str, Any], object]
#: Told once when the connection ends other than by ``close()``: the close code and reason.
DisconnectHandler = Callable[[int, str], object]
#: Gets each item of a channel command's call, in order, before the call returns.
ItemHandler = Callable[[Any], object]

#: A stream's consumer acknowledges at least this often, and whenever it waits with nothing
#: held (docs/streams.md): any window the host uses makes progress.
_ACK_EVERY = 32

#: Reconnection delay (``reconnect=True``): ``random(0, min(MAX, BASE * 2 ** attempt))``
#: seconds, the TypeScript client's full jitter, so many clients of one restarted server do
#: not all dial at once.
_RECONNECT_BASE = 0.25
_RECONNECT_MAX = 10.0
#: Close codes after which the client does not dial again: the token was refused or revoked.
_FATAL_CLOSES = (4001, 4003)
#: HTTP statuses refusing the upgrade that retrying does not change (401 is `AuthenticationError`):
#: 403, the origin refused. 503 (over capacity) and the rest may get better.
_FATAL_STATUSES = (403,)
#: Seconds a connection must stay up for the backoff to start again from its first delay: a
#: server that welcomes and drops at once is dialed ever more slowly, not 8 times a second.
_RECONNECT_STABLE = 5.0

#: The reserved methods of topics (docs/topics.md, "The wire").
SUBSCRIBE_METHOD = "auroraview.subscribe"
UNSUBSCRIBE_METHOD = "auroraview.unsubscribe"
PUBLISH_METHOD = "auroraview.publish"


class Publication(NamedTuple):
    """Where a topic's message sits: what a topic handler gets besides the data."""

    topic: str
    #: The history the offset belongs to (a new one after the host restarted).
    epoch: str
    #: The message's number in its topic, from 1, without gaps.
    offset: int


class PublishResult(NamedTuple):
    """The answer to a publish: the offset the message got, in its topic's epoch."""

    epoch: str
    offset: int


@dataclass(frozen=True)
class RecoveryInfo:
    """What ``on_recovery`` is told. After every resubscription (a reconnection):
    ``recovered=True`` when the host bridged the gap (the messages missed follow, in order),
    ``recovered=False`` with a ``reason`` when it could not (the host restarted: a new epoch;
    history no longer reaches back): reload your state, only newer messages follow. Also
    ``recovered=False`` when a publication skips offsets (``reason`` says which), just before
    that publication. ``epoch``/``offset``: the position messages follow from."""

    topic: str
    recovered: bool
    reason: str | None
    epoch: str
    offset: int


@dataclass(frozen=True)
class ClientStats:
    """Counters of a client's topics (docs/topics.md, "What clients do")."""

    #: Publications dropped because their offset was delivered already (a replay overlapping
    #: what arrived before the connection dropped): never delivered twice.
    duplicates: int
    #: Publications of a topic with no subscription here (any more).
    unmatched: int
    #: Connections welcomed again after a loss (``reconnect=True``).
    reconnects: int


#: A topic handler: the message's data and its `Publication`. Sync, or async (awaited in
#: order: see `AsyncClient.subscribe`).
TopicHandler = Callable[[Any, Publication], object]
#: Told of every resubscription's outcome and of any gap, before the messages that follow it.
RecoveryHandler = Callable[[RecoveryInfo], object]
#: Told that a subscription ended after it was confirmed (a resubscription refused, or the
#: connection closed for good).
SubscriptionErrorHandler = Callable[[InvokeError], object]

_Wire = Literal["idle", "subscribing", "live", "leaving"]


class ConnectError(AuroraViewError):
    """The connection could not be opened: nothing listening, no answer in time, refused
    at the upgrade (``status``: 403 origin, 503 capacity, ...) or closed before the welcome
    (``close_code``), or not an AuroraView server."""

    def __init__(self, message: str, *, status: int | None = None, close_code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.close_code = close_code


class AuthenticationError(ConnectError):
    """The server refused the token (close 4001 before the welcome, or HTTP 401 at the upgrade)."""


def describe_close(code: int, reason: str = "") -> str:
    """``4003 token revoked`` — a close code with its meaning and the peer's reason."""
    text = f"{code} {_CLOSE_MEANINGS.get(code, 'closed')}"
    return f"{text}: {reason}" if reason else text


# -- URL ------------------------------------------------------------------------------


def resolve_url(url: str, token: str | None = None) -> tuple[str, str]:
    """The WebSocket endpoint and the token for ``url``: the URL a server prints
    (``http://HOST:PORT/?token=T``), or a ``ws://``/``wss://`` URL (the path defaults to
    ``/__auroraview/ws``) with ``token``. The token never stays in the URL: it is sent in
    the upgrade's ``Authorization`` header, which servers and proxies do not log."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss"):
        raise ValueError(f"expected an http://, https://, ws:// or wss:// URL, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    in_url = [v for k, v in query if k == "token"]
    url_token = in_url[-1] if in_url else None
    if token is None:
        token = url_token
    elif url_token is not None and url_token != token:
        raise ValueError("the URL and token= give different tokens")
    if token is None:
        raise ValueError("no token: pass token=, or the URL the server printed (http://HOST:PORT/?token=...)")
    if not _TOKEN.fullmatch(token):
        raise ValueError("malformed token: a server token is 22-128 characters of A-Z, a-z, 0-9, '_' and '-'")
    netloc = parts.netloc.rpartition("@")[2]  # credentials in a URL are not ours to forward
    if scheme in ("http", "https"):
        # The page URL: the endpoint is at the root, whatever page was printed.
        return urlunsplit(("ws" if scheme == "http" else "wss", netloc, WS_PATH, "", "")), token
    path = parts.path if parts.path not in ("", "/") else WS_PATH
    rest = urlencode([(k, v) for k, v in query if k != "token"])
    return urlunsplit((scheme, netloc, path, rest, "")), token


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: websockets >= 15 honours proxy settings from the environment (``proxy=True``); before, none.
_HAS_PROXY = "proxy" in inspect.signature(ws_connect.__init__).parameters


def _proxy_option(ws_url: str) -> dict[str, Any]:
    """A proxy from the environment must not carry the token of a server on this machine."""
    if not _HAS_PROXY or not _is_loopback(urlsplit(ws_url).hostname):
        return {}
    return {"proxy": None}


def _disconnected(message: str) -> InvokeError:
    return InvokeError.framework("disconnected", message)


def _call_frame(msg: dict[str, Any]) -> bytes:
    """A call whose params hold `bytes`, as a binary frame (docs/binary.md): each one an
    attachment. An unserializable param raises here, before anything is sent."""
    rest, blobs = _binary.cut(_binary.to_plain(msg))
    return encode_frame(to_json(rest), blobs)


def _is_offset(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _settle_leaving(state: _TopicState) -> None:
    waiting, state.leaving = state.leaving, []
    for fut in waiting:
        if not fut.done():
            fut.set_result(None)


async def _logged(aw: Awaitable[Any], what: str) -> None:
    try:
        await aw
    except asyncio.CancelledError:
        # This task being cancelled is not the handler's doing (`cancelling`: Python 3.11+;
        # on 3.10 the two look alike, and a cancel of this task is taken as the handler's).
        cancelling: Callable[[], int] | None = getattr(asyncio.current_task(), "cancelling", None)
        if cancelling is not None and cancelling():
            raise
        # Raised by the handler itself (it awaited something cancelled): a failure like any other.
        log.exception("%s failed (it raised CancelledError)", what)
    except Exception:
        log.exception("%s failed", what)


def _out_of_sequence(call_id: int, method: str, seq: object, last: int) -> InvokeError:
    expected = "as its first item (seq 1)" if last == 0 else f"after item {last}"
    return InvokeError.framework(
        "internal",
        f"item {seq!r} of call {call_id} ({method}) arrived {expected}: "
        "the host's items are out of sequence, the call is cancelled",
    )


class _Stream:
    """The items of one stream in flight, received and not yet consumed, and its end."""

    __slots__ = ("done", "error", "items", "wake")

    def __init__(self) -> None:
        self.items: deque[tuple[object, Any]] = deque()
        self.done = False
        self.error: InvokeError | None = None
        self.wake = asyncio.Event()

    def push(self, seq: object, item: Any) -> None:
        if not self.done:
            self.items.append((seq, item))
            self.wake.set()

    def end(self, error: InvokeError | None) -> None:
        if not self.done:
            self.done, self.error = True, error
            self.wake.set()


class _Channel:
    """The items of one call in flight (a channel command's): handed to ``on_item``, or
    dropped for a plain call of a stream or channel command; acknowledged either way."""

    __slots__ = ("last", "method", "on_item")

    def __init__(self, method: str, on_item: ItemHandler | None) -> None:
        self.method = method
        self.on_item = on_item
        self.last = 0


class _Subscriber:
    """One local subscriber of a topic, and what it has yet to be handed (in order)."""

    __slots__ = ("active", "backlog", "draining", "handler", "on_error", "on_recovery", "ready", "topic")

    def __init__(
        self,
        topic: str,
        handler: TopicHandler,
        on_recovery: RecoveryHandler | None,
        on_error: SubscriptionErrorHandler | None,
        ready: asyncio.Future[dict[str, Any]],
    ) -> None:
        self.topic = topic
        self.handler = handler
        self.on_recovery = on_recovery
        self.on_error = on_error
        self.active = True
        #: Set once the host confirmed the subscription (or it failed); pending until then.
        self.ready = ready
        #: Messages and recovery notices waiting for an async handler's previous call.
        self.backlog: deque[tuple[Callable[..., object], tuple[Any, ...], str]] = deque()
        self.draining = False

    @property
    def waiting(self) -> bool:
        return not self.ready.done()


class _TopicState:
    """A topic's one wire subscription on this client, shared by its local subscribers.

    ``wire``: ``idle`` (not on this connection: sent once it is open), ``subscribing`` (the
    subscribe sent, its answer awaited), ``live`` (the host sends its publications),
    ``leaving`` (the unsubscribe sent because the last local subscriber left; one arriving
    meanwhile subscribes afresh once that answer is in). ``epoch``/``last``: the position
    delivered to the application (``epoch`` None before the first answer)."""

    __slots__ = ("epoch", "last", "leaving", "name", "subscribers", "wire")

    def __init__(self, name: str) -> None:
        self.name = name
        self.subscribers: list[_Subscriber] = []
        self.wire: _Wire = "idle"
        self.epoch: str | None = None
        self.last = 0
        #: ``unsubscribe()`` calls waiting for the host's answer.
        self.leaving: list[asyncio.Future[None]] = []


class Subscription:
    """One local subscriber of a topic on an `AsyncClient` (see `AsyncClient.subscribe`).
    ``epoch``/``offset``: the position the subscription started from (messages with a
    greater offset follow)."""

    __slots__ = ("_client", "_subscriber", "epoch", "offset", "topic")

    def __init__(self, client: AsyncClient, topic: str, subscriber: _Subscriber, epoch: str, offset: int) -> None:
        self._client = client
        self._subscriber = subscriber
        self.topic = topic
        self.epoch = epoch
        self.offset = offset

    @property
    def active(self) -> bool:
        """Not unsubscribed, and not ended by the client's close or a refused resubscription."""
        return self._subscriber.active

    async def unsubscribe(self) -> None:
        """Stop: the handler is not called again (nor ``on_recovery``). The wire subscription
        ends with the last local subscriber of the topic: this returns once the host
        confirmed that, or at once while others remain. Idempotent."""
        await self._client._unsubscribe(self.topic, self._subscriber)

    def __repr__(self) -> str:
        state = "active" if self.active else "ended"
        return f"<Subscription {self.topic!r} from {self.epoch}:{self.offset} {state}>"


# -- the async client -------------------------------------------------------------------


class AsyncClient:
    """A connection to an AuroraView server, on the asyncio loop that opened it (see
    `connect_async`). Its methods must be called on that loop; event handlers run on it
    (a sync handler inline — keep it short —, an async one as a task)."""

    def __init__(
        self,
        ws: ClientConnection,
        welcome: dict[str, Any],
        *,
        url: str,
        heartbeat: float | None,
        timeout: float,
        on_disconnect: DisconnectHandler | None,
        sink: AnyEventHandler | None = None,
        on_finish: Callable[[int, str, bool], None] | None = None,
        token: str | None = None,
        reconnect: bool = False,
    ) -> None:
        self._ws = ws
        self.url = url
        self._token = token
        self._reconnect = reconnect and token is not None
        self._heartbeat_option = heartbeat
        #: Seconds of silence past the heartbeat after which the server is taken for dead
        #: (and seconds to open a connection again when reconnecting).
        self.heartbeat_timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._welcomed(welcome)
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._methods: dict[int, str] = {}  # of the calls in flight, for error messages
        #: Streams in flight, by call id.
        self._streams: dict[int, _Stream] = {}
        #: Item takers of the calls in flight that received (or expect) items.
        self._channels: dict[int, _Channel] = {}
        #: Channel acknowledgements due once the frames received so far are handled.
        self._acks_due: dict[int, int] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._any: list[AnyEventHandler] = []
        # The sync client's hand-off to its event thread: given here, before the reader
        # starts, so no event can arrive before it is in place.
        self._sink = sink
        self._tasks: set[asyncio.Future[Any]] = set()
        self._on_disconnect = on_disconnect
        #: Told of every end, including ``close()``: (code, reason, by_close).
        self._on_finish = on_finish
        self._closed = False
        self._closing = False  # close() was called: the end is ours, not the server's
        self._close_code: int | None = None
        self._close_reason = ""
        self._closed_event = asyncio.Event()
        #: The connection is welcomed and usable (False while reconnecting and once closed).
        self._connected = True
        #: Which connection this is: what a reader, heartbeat or send of an older one sees
        #: when it finds out that one is lost (and is then ignored).
        self._gen = 0
        self._redialer: asyncio.Task[None] | None = None
        self._reconnects = 0
        #: Failed (or short-lived) reconnection attempts in a row: the backoff's exponent.
        self._attempt = 0
        #: Calls whose reply goes to callbacks, synchronously as it is read: the topics' (a
        #: subscription's answer is taken in before the publications after it).
        self._requests: dict[int, tuple[Callable[[Any], None], Callable[[InvokeError], None]]] = {}
        self._topics: dict[str, _TopicState] = {}
        self._duplicates = 0
        self._unmatched = 0
        now = self._loop.time()
        self._last_recv = self._last_send = self._last_ping = now
        #: When the current connection was welcomed.
        self._up_since = now
        self._reader = self._loop.create_task(self._read(ws, 0), name="auroraview-client-reader")
        self._pulse = self._loop.create_task(self._beat(0), name="auroraview-client-heartbeat")

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        self._conn: int = welcome["conn"]
        server_hb = welcome.get("heartbeat_ms")
        self.server_heartbeat = server_hb / 1000 if isinstance(server_hb, (int, float)) and server_hb > 0 else None
        #: Seconds without sending (or hearing) anything after which this client pings.
        self.heartbeat: float = (
            self._heartbeat_option
            if self._heartbeat_option is not None
            else (self.server_heartbeat or _DEFAULT_HEARTBEAT)
        )

    # -- identity and state ------------------------------------------------------------

    @property
    def conn(self) -> int:
        """This connection's id on the server (from its welcome)."""
        return self._conn

    @property
    def closed(self) -> bool:
        """The client has ended, for good (a reconnecting client is not closed)."""
        return self._closed

    @property
    def connected(self) -> bool:
        """A connection is open and welcomed: False while reconnecting, and once closed."""
        return self._connected

    def stats(self) -> ClientStats:
        """Counters of this client's topics and reconnections (`ClientStats`)."""
        return ClientStats(duplicates=self._duplicates, unmatched=self._unmatched, reconnects=self._reconnects)

    @property
    def close_code(self) -> int | None:
        """Why it ended (None while open): 1000 after ``close()``, the server's code, 1006
        when the connection was lost without one, 4002 when the server fell silent."""
        return self._close_code

    @property
    def close_reason(self) -> str:
        return self._close_reason

    async def wait_closed(self) -> None:
        """Return once the connection has ended."""
        await self._closed_event.wait()

    # -- calls and events ----------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        on_item: ItemHandler | None = None,
    ) -> Any:
        """Call ``method`` and return its result (JSON-decoded), or raise `InvokeError`.

        ``params``: an object of named arguments, a list of positional ones, or None; any
        value pydantic can serialize. Params holding `bytes` (anywhere: a value, a field of a
        model, an item of a list) are sent as one binary message, each `bytes` raw
        (docs/binary.md); the `bytes` of a binary reply come back as `bytes`.

        With ``timeout`` (seconds), or when the awaiting task
        is cancelled, a ``cancel`` is sent and the handler sees ``CancelledError``; a
        timeout raises ``InvokeError`` with code ``timeout``. A connection that ends first
        fails the call with ``disconnected``.

        ``on_item(item)``: the items a channel command sends (its ``Channel[T]`` parameter,
        docs/streams.md), in order, all before the call returns. It runs on the client's
        loop, inline in the reader: keep it short, and sync (an async one is not awaited:
        an error is logged). An item counts as consumed once it returned; one that raises
        is logged and the call goes on. Without ``on_item`` such items are dropped (and
        still acknowledged, so the command is not held at its window). Items out of
        sequence fail the call with ``internal`` and cancel it."""
        if not self._connected:
            raise _disconnected(self._closed_message())
        call_id = next(self._ids)
        msg: dict[str, Any] = {"type": "call", "id": call_id, "method": method}
        if params is not None:
            msg["params"] = params
        # An unserializable param raises here, before anything is sent. Params holding bytes
        # go as one binary message (docs/binary.md).
        data = _call_frame(msg) if params is not None and _binary.has_bytes(params) else to_json(msg).decode()
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._pending[call_id] = fut
        self._methods[call_id] = method
        if on_item is not None:
            self._channels[call_id] = _Channel(method, on_item)
        try:
            await self._send(data)
            if timeout is None:
                return await fut
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            self._pending.pop(call_id, None)
            await self._send_cancel(call_id)
            raise InvokeError.framework(
                "timeout", f"no reply to {method!r} within {timeout:g} s; the call was cancelled"
            ) from None
        except asyncio.CancelledError:
            if self._pending.pop(call_id, None) is not None:
                # Not awaited here: this task is being cancelled, the cancel goes out on its own.
                self._spawn(self._send_cancel(call_id))
            raise
        finally:
            self._pending.pop(call_id, None)
            self._methods.pop(call_id, None)
            self._channels.pop(call_id, None)

    async def stream(
        self, method: str, params: Any = None, *, timeout: float | None = None
    ) -> AsyncGenerator[Any, None]:
        """Call stream command ``method`` (a generator command, docs/streams.md) and iterate
        over its items (JSON-decoded) with ``async for``. Nothing is sent before iteration
        starts.

        Leaving the loop early (``break``, an exception), ``timeout`` (seconds, for the whole
        stream) or cancelling the task sends a ``cancel``: the host closes the generator (its
        ``finally`` runs). A timeout raises `InvokeError` ``timeout``; an error ending the
        stream raises `InvokeError` after the items before it; so does a connection that
        ends first (``disconnected``, as for calls in flight), and items out of sequence
        (``internal``, the call is cancelled). Items are acknowledged as they are consumed:
        when the loop waits with nothing held, and at least every 32 items, so a consumer
        that stops reading holds the host's generator at its window, not memory here.

        ``break`` ends the loop, not the generator object: CPython closes it (and sends the
        cancel) as soon as it is dropped; ``aclose()`` it, or use
        ``contextlib.aclosing``, to do that at a point of your choosing. A command that is
        not a stream ends the iteration with no items (its result is ignored)."""
        if not self._connected:
            raise _disconnected(self._closed_message())
        call_id = next(self._ids)
        msg: dict[str, Any] = {"type": "call", "id": call_id, "method": method}
        if params is not None:
            msg["params"] = params
        data = to_json(msg).decode()
        loop = self._loop
        deadline = None if timeout is None else loop.time() + timeout
        buf = _Stream()
        self._streams[call_id] = buf
        consumed = acked = 0
        try:
            await self._send(data)
            while True:
                if deadline is not None and loop.time() >= deadline:
                    raise InvokeError.framework(
                        "timeout", f"the stream {method!r} did not end within {timeout:g} s; it was cancelled"
                    )
                if buf.items:
                    seq, value = buf.items.popleft()
                    if seq != consumed + 1:
                        raise _out_of_sequence(call_id, method, seq, consumed)
                    consumed += 1
                    yield value
                    if not buf.done and consumed - acked >= _ACK_EVERY:
                        acked = consumed
                        await self._send_ack(call_id, acked)
                    continue
                if buf.done:
                    if buf.error is not None:
                        raise buf.error
                    return
                if consumed > acked:  # waiting with nothing held: the host may send on
                    acked = consumed
                    await self._send_ack(call_id, acked)
                buf.wake.clear()
                if buf.items or buf.done:
                    continue
                if deadline is None:
                    await buf.wake.wait()
                else:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(buf.wake.wait(), max(deadline - loop.time(), 0.0))
        finally:
            self._streams.pop(call_id, None)
            if not buf.done:
                buf.end(None)
                # Not awaited: this may be a task being cancelled or a generator being closed.
                self._spawn(self._send_cancel(call_id))

    async def send_event(self, event: str, detail: Any = None) -> None:
        """Send an event to the server's app (its ``commands.on(event)`` handlers). Raises
        `InvokeError` ``disconnected`` when the client is closed."""
        if not self._connected:
            raise _disconnected(self._closed_message())
        msg: dict[str, Any] = {"type": "event", "event": event}
        if detail is not None:
            msg["detail"] = detail
        await self._send(to_json(msg).decode())

    def on(self, event: str, handler: EventHandler) -> Callable[[], None]:
        """Run ``handler(payload)`` for each ``event`` the server pushes; returns a function
        that unsubscribes it. Several handlers may share an event; a failing one is logged
        and the others still run."""
        self._handlers.setdefault(event, []).append(handler)
        return lambda: self.off(event, handler)

    def on_any(self, handler: AnyEventHandler) -> Callable[[], None]:
        """Run ``handler(event, payload)`` for every event the server pushes; returns a
        function that unsubscribes it."""
        self._any.append(handler)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._any.remove(handler)

        return unsubscribe

    def off(self, event: str, handler: EventHandler | None = None) -> None:
        """Unsubscribe ``handler`` from ``event``, or every handler of ``event``."""
        handlers = self._handlers.get(event)
        if handlers is None:
            return
        if handler is None:
            handlers.clear()
        else:
            with contextlib.suppress(ValueError):
                handlers.remove(handler)
        if not handlers:
            del self._handlers[event]

    # -- topics (docs/topics.md) ---------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        handler: TopicHandler,
        *,
        on_recovery: RecoveryHandler | None = None,
        on_error: SubscriptionErrorHandler | None = None,
    ) -> Subscription:
        """Subscribe ``handler(data, publication)`` to ``topic``; returns once the host
        confirmed it, with the position it starts from (`Subscription`). Raises `InvokeError`
        when refused (``forbidden``, ``unknown_topic``, ``invalid_params``) or when the
        connection ends first (``disconnected``; at once while the client is closed or
        reconnecting, as `call` does): the handler is then never called.

        The handler gets each message of the topic once, in publish order, from that position
        on, with its `Publication` (``topic``, ``epoch``, ``offset``). Local subscribers of a
        topic share one wire subscription, whose unsubscribe goes with the last of them. A
        publication at or below the position already delivered is dropped (counted in
        `stats` ``duplicates``), never delivered twice.

        ``on_recovery(info)`` (`RecoveryInfo`): after every resubscription (``reconnect=True``),
        ``recovered`` True when the host replayed what was missed, False with the host's
        ``reason`` when it could not (only newer messages follow: reload your state); also
        False when a publication skips offsets (never passed over silently). Always before
        the messages that follow it. Without it a loss is logged as a warning.
        ``on_error(error)``: the subscription ended after it was confirmed (its
        resubscription was refused, or the client closed for good); logged without it.

        Handlers run on the client's loop, inline in the reader. A sync handler is called
        in order and should be short. An async one is awaited, one message at a time: the
        next message (or recovery notice) of this subscriber is handed over only once the
        previous call finished, so it sees them in order; what arrives meanwhile waits in
        memory. A handler that raises is logged, and the subscription goes on.

        Cancelling the awaiting task unsubscribes."""
        if not isinstance(topic, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError('subscribe(topic, handler): the topic is a string such as "scene/updates"')
        if not callable(handler):
            raise TypeError(f"subscribe({topic!r}, handler): the handler is a function")
        if not self._connected:  # closed, or reconnecting: as a call would
            raise _disconnected(self._closed_message())
        subscriber = _Subscriber(topic, handler, on_recovery, on_error, self._loop.create_future())
        state = self._topics.get(topic)
        if state is None:
            state = self._topics[topic] = _TopicState(topic)
            state.subscribers.append(subscriber)
            self._topic_send(state)
        else:
            state.subscribers.append(subscriber)
            if state.wire == "live" and state.epoch is not None:
                # Receiving all along: this subscriber starts from the current position.
                subscriber.ready.set_result({"epoch": state.epoch, "offset": state.last})
        try:
            answer = await asyncio.shield(subscriber.ready)
        except asyncio.CancelledError:
            self._spawn(self._unsubscribe(topic, subscriber))
            raise
        return Subscription(self, topic, subscriber, answer["epoch"], answer["offset"])

    async def publish(self, topic: str, data: Any, *, timeout: float | None = None) -> PublishResult:
        """Publish ``data`` on ``topic`` (a call of ``auroraview.publish``: the host validates
        it against the topic's type). Returns the offset it got (`PublishResult`), once every
        subscriber connected to that process has it queued; raises `InvokeError` as a call
        does (``forbidden``, ``unknown_topic``, ``invalid_params``, ``timeout``,
        ``disconnected``, at once while the client is reconnecting): then it reached nobody."""
        result = await self.call(PUBLISH_METHOD, {"topic": topic, "data": data}, timeout=timeout)
        if not isinstance(result, dict):
            raise InvokeError.framework("internal", f"malformed answer to a publish on {topic!r}: {result!r:.80}")
        answer = cast("dict[str, Any]", result)
        return PublishResult(answer["epoch"], answer["offset"])

    async def _unsubscribe(self, topic: str, subscriber: _Subscriber) -> None:
        state = self._topics.get(topic)
        if state is None or subscriber not in state.subscribers:  # left, or ended, already
            subscriber.active = False
            return
        subscriber.active = False
        subscriber.backlog.clear()
        state.subscribers.remove(subscriber)
        if not subscriber.ready.done():
            subscriber.ready.set_exception(
                InvokeError.framework(
                    "cancelled", f"unsubscribed from topic {topic!r} before the subscription took effect"
                )
            )
            subscriber.ready.exception()  # retrieved: nobody may be awaiting it any more
        if state.subscribers:
            return
        if state.wire == "idle":
            del self._topics[topic]  # nothing on the wire
            return
        done: asyncio.Future[None] = self._loop.create_future()
        state.leaving.append(done)
        if state.wire == "live":
            self._topic_leave(state)
        # `subscribing`: left once the answer is in; `leaving` already.
        await asyncio.shield(done)

    def _request(
        self, method: str, params: Any, on_result: Callable[[Any], None], on_error: Callable[[InvokeError], None]
    ) -> None:
        """Send call ``method``; exactly one callback runs, synchronously when the reply is
        read (or ``on_error`` with ``disconnected`` when the connection is lost first)."""
        if not self._connected:
            on_error(_disconnected(self._closed_message()))
            return
        call_id = next(self._ids)
        self._requests[call_id] = (on_result, on_error)
        data = to_json({"type": "call", "id": call_id, "method": method, "params": params}).decode()
        self._spawn(self._send_request(call_id, data))

    async def _send_request(self, call_id: int, data: str) -> None:
        try:
            await self._send(data)
        except InvokeError as exc:
            callbacks = self._requests.pop(call_id, None)
            if callbacks is not None:
                callbacks[1](exc)

    def _topic_send(self, state: _TopicState) -> None:
        """Subscribe ``state`` on the wire: with ``since`` when it has a position."""
        state.wire = "subscribing"
        since = state.epoch
        params: dict[str, Any] = {"topic": state.name}
        if since is not None:
            params["since"] = {"epoch": since, "offset": state.last}
        self._request(
            SUBSCRIBE_METHOD,
            params,
            lambda value: self._topic_answered(state, value, since is not None),
            lambda error: self._topic_refused(state, error),
        )

    def _topic_answered(self, state: _TopicState, value: Any, resubscribed: bool) -> None:
        if self._topics.get(state.name) is not state or state.wire != "subscribing":
            return
        answer = cast("dict[str, Any]", value) if isinstance(value, dict) else {}
        epoch, offset = answer.get("epoch"), answer.get("offset")
        if not isinstance(epoch, str) or not _is_offset(offset):
            self._topic_refused(
                state,
                InvokeError.framework(
                    "internal", f"malformed answer to the subscription of topic {state.name!r}: no epoch and offset"
                ),
            )
            return
        offset = cast("int", offset)
        if not state.subscribers:
            self._topic_leave(state)  # everyone left while it was on its way
            return
        state.wire = "live"
        if not resubscribed or state.epoch is None:
            state.epoch, state.last = epoch, offset
            for subscriber in list(state.subscribers):
                if subscriber.waiting:
                    subscriber.ready.set_result({"epoch": epoch, "offset": offset})
            return
        # A resubscription: did the host bridge the gap since our position?
        recovered = answer.get("recovered") is True and epoch == state.epoch and offset >= state.last
        reason: str | None = None
        if not recovered:
            told = answer.get("reason")
            reason = (
                told
                if isinstance(told, str)
                else f"the topic's epoch changed ({state.epoch} -> {epoch}): the host restarted"
                if epoch != state.epoch
                else f"the host did not recover the messages after offset {state.last}"
            )
            state.epoch, state.last = epoch, offset
        info = RecoveryInfo(state.name, recovered, reason, state.epoch, state.last)
        for subscriber in list(state.subscribers):
            if subscriber.waiting:
                # Joined while the resubscription was on its way: it starts where the topic's
                # delivery is (the replay that follows is newer), not at the host's offset.
                subscriber.ready.set_result({"epoch": state.epoch, "offset": state.last, "recovered": recovered})
            else:
                self._tell(state.name, subscriber, info)

    def _topic_refused(self, state: _TopicState, error: InvokeError) -> None:
        if self._topics.get(state.name) is not state or state.wire != "subscribing":
            return
        if error.code == "disconnected" and not self._closed:
            # Reconnecting: the host forgot it; sent again once the connection is open.
            state.wire = "idle"
            if not state.subscribers:
                del self._topics[state.name]
                _settle_leaving(state)
            return
        self._topic_fail(state, error, quiet=self._closed and self._closing)

    def _topic_fail(self, state: _TopicState, error: InvokeError, *, quiet: bool = False) -> None:
        """The topic's subscription is over: waiting subscribers raise ``error``, the others
        are told through ``on_error`` (not when ``quiet``: the client's own ``close()``)."""
        if self._topics.get(state.name) is state:
            del self._topics[state.name]
        subscribers, state.subscribers = state.subscribers, []
        for subscriber in subscribers:
            subscriber.active = False
            subscriber.backlog.clear()
            if subscriber.waiting:
                subscriber.ready.set_exception(error)
            elif quiet:
                pass
            elif subscriber.on_error is not None:
                self._call_handler(subscriber.on_error, (error,), f"on_error of topic {state.name!r}")
            else:
                log.error("the subscription to topic %r ended: %s", state.name, error)
        _settle_leaving(state)

    def _topic_leave(self, state: _TopicState) -> None:
        state.wire = "leaving"
        self._request(
            UNSUBSCRIBE_METHOD,
            {"topic": state.name},
            lambda _: self._topic_left(state),
            lambda _: self._topic_left(state),
        )

    def _topic_left(self, state: _TopicState) -> None:
        """The host answered the unsubscribe (or forgot it with the connection)."""
        if self._topics.get(state.name) is not state or state.wire != "leaving":
            return
        _settle_leaving(state)
        if not state.subscribers:
            del self._topics[state.name]
            return
        # Someone subscribed meanwhile: a fresh subscription (the old position means nothing now).
        state.epoch, state.last = None, 0
        state.wire = "idle"
        if self._connected:
            self._topic_send(state)

    def _on_publication(self, msg: dict[str, Any]) -> None:
        name, epoch, offset = msg.get("topic"), msg.get("epoch"), msg.get("offset")
        state = self._topics.get(name) if isinstance(name, str) else None
        if state is None or state.epoch is None or not isinstance(epoch, str) or not _is_offset(offset):
            self._unmatched += 1  # not subscribed (any more), or not before the subscription's answer
            return
        if state.wire == "leaving" or not state.subscribers:
            return  # on its way out: expected
        name, offset = cast("str", name), cast("int", offset)
        gap: str | None = None
        if epoch != state.epoch:
            gap = f"the topic's epoch changed ({state.epoch} -> {epoch}) without a resubscription"
        elif offset <= state.last:
            self._duplicates += 1
            return
        elif offset > state.last + 1:
            gap = (
                f"offset {state.last + 1} never arrived"
                if offset == state.last + 2
                else f"offsets {state.last + 1} to {offset - 1} never arrived"
            )
        state.epoch, state.last = epoch, offset
        meta = Publication(name, epoch, offset)
        # Told before the publication: messages follow from just before it.
        info = None if gap is None else RecoveryInfo(name, False, gap, epoch, offset - 1)
        data = msg.get("data")
        for subscriber in list(state.subscribers):
            if not subscriber.active or subscriber.waiting:
                continue
            if info is not None:
                self._tell(name, subscriber, info)
                if not subscriber.active:  # unsubscribed by on_recovery
                    continue
            self._deliver(subscriber, subscriber.handler, (data, meta), f"handler of topic {name!r}")

    def _topics_lost(self, closed: bool) -> None:
        for state in list(self._topics.values()):
            if closed:
                self._topic_fail(state, _disconnected(self._closed_message()), quiet=self._closing)
            elif state.wire == "live":
                state.wire = "idle"  # a `subscribing` or `leaving` one hears of it through its request

    def _topics_opened(self) -> None:
        for state in list(self._topics.values()):
            if state.wire == "idle":
                self._topic_send(state)

    def _tell(self, topic: str, subscriber: _Subscriber, info: RecoveryInfo) -> None:
        if subscriber.on_recovery is None:
            if not info.recovered:
                log.warning(
                    "topic %r: messages were lost (%s); pass on_recovery to handle it",
                    topic,
                    info.reason or "no reason given",
                )
            return
        self._deliver(subscriber, subscriber.on_recovery, (info,), f"on_recovery of topic {topic!r}")

    def _deliver(self, subscriber: _Subscriber, fn: Callable[..., object], args: tuple[Any, ...], what: str) -> None:
        """Hand ``fn(*args)`` to a subscriber, after what it was handed before: inline when
        nothing of its is pending, else queued behind the async call still running."""
        if subscriber.draining:
            subscriber.backlog.append((fn, args, what))
            return
        result = self._call_handler(fn, args, what)
        if result is not None:
            subscriber.draining = True
            self._spawn(self._drain(subscriber, result, what))

    async def _drain(self, subscriber: _Subscriber, first: Awaitable[Any], what: str) -> None:
        """Await an async handler's call, then hand over what queued behind it, in order. A
        handler that fails (``CancelledError`` included) is logged and the rest still comes;
        this task cancelled while the subscription goes on (not the client's ``close()``)
        ends the subscription, told through ``on_error``: what it held is never dropped
        silently."""
        try:
            await _logged(first, what)
            while subscriber.backlog and subscriber.active:
                fn, args, what = subscriber.backlog.popleft()
                result = self._call_handler(fn, args, what)
                if result is not None:
                    await _logged(result, what)
        except asyncio.CancelledError:
            if subscriber.active and not self._closed:
                dropped = len(subscriber.backlog)
                error = InvokeError.framework(
                    "cancelled",
                    f"the task handing messages of topic {subscriber.topic!r} to an async handler was "
                    f"cancelled ({dropped} not handed over); the subscription ended",
                )
                log.error("%s", error)
                subscriber.active = False  # nothing more is handed to it from now on
                subscriber.backlog.clear()
                self._spawn(self._unsubscribe(subscriber.topic, subscriber))
                if subscriber.on_error is not None:
                    told = self._call_handler(subscriber.on_error, (error,), f"on_error of topic {subscriber.topic!r}")
                    if told is not None:
                        self._spawn(told)
            raise
        finally:
            subscriber.draining = False
            subscriber.backlog.clear()

    def _call_handler(self, fn: Callable[..., object], args: tuple[Any, ...], what: str) -> Awaitable[Any] | None:
        """``fn(*args)``: its awaitable when it returned one; a failure is logged."""
        try:
            result = fn(*args)
        except Exception:
            log.exception("%s (%s) failed", what, getattr(fn, "__qualname__", fn))
            return None
        return result if inspect.isawaitable(result) else None

    # -- end ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection (code 1000). Calls in flight fail with ``disconnected``;
        ``on_disconnect`` is not called (the end is yours). Idempotent."""
        self._closing = True
        self._finish(1000, "closed by the client")
        with contextlib.suppress(Exception):
            await self._ws.close()
        redialer = () if self._redialer is None else (self._redialer,)
        tasks = (self._reader, self._pulse, *redialer, *self._tasks)
        for task in tasks:
            if task is not asyncio.current_task():
                task.cancel()
        # Handler tasks are given their cancellation; the reader and heartbeat end with it.
        others = [t for t in tasks if t is not asyncio.current_task()]
        await asyncio.gather(*others, return_exceptions=True)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "open" if not self._closed else f"closed {describe_close(self._close_code or 1000)}"
        return f"<AsyncClient conn={self._conn} {self.url} {state}>"

    # -- internals ---------------------------------------------------------------------

    async def _send(self, data: str | bytes) -> None:
        if not self._connected:
            raise _disconnected(self._closed_message())
        ws, gen = self._ws, self._gen
        try:
            await ws.send(data)
        except ConnectionClosed as exc:
            code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (1006, "")
            self._lost(gen, code, reason)
            raise _disconnected(f"the connection closed ({describe_close(code, reason)})") from None
        self._last_send = self._loop.time()

    async def _send_cancel(self, call_id: int) -> None:
        if self._connected:
            with contextlib.suppress(InvokeError):
                await self._send(f'{{"type":"cancel","id":{call_id}}}')

    async def _send_ack(self, call_id: int, seq: int) -> None:
        """Tell the host the items of ``call_id`` up to ``seq`` are consumed. A connection
        that closed meanwhile ends the call through `_lost`, not here."""
        if self._connected:
            with contextlib.suppress(InvokeError):
                await self._send(f'{{"type":"ack","id":{call_id},"seq":{seq}}}')

    def _closed_message(self) -> str:
        if not self._closed:
            return "the connection was lost; the client is reconnecting"
        return f"the client is closed ({describe_close(self._close_code or 1000, self._close_reason)})"

    def _spawn(self, aw: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(aw)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a client task failed", exc_info=task.exception())

    async def _read(self, ws: ClientConnection, gen: int) -> None:
        code, reason = 1006, ""
        try:
            while True:
                frame = await ws.recv()
                self._last_recv = self._loop.time()
                if isinstance(frame, bytes):
                    self._on_frame(frame)
                    continue
                await self._on_message(frame)
        except ConnectionClosed as exc:
            if exc.rcvd is not None:
                code, reason = exc.rcvd.code, exc.rcvd.reason
        except Exception:  # a bug here must not leave calls hanging: end the connection
            log.exception("the client's reader failed; closing the connection")
            code, reason = 1011, "client reader failed"
            self._finish(code, reason)
            with contextlib.suppress(Exception):
                await ws.close(1011)
        finally:
            self._lost(gen, code, reason)

    async def _on_message(self, text: str) -> None:
        try:
            msg = from_json(text)
        except ValueError:
            log.warning("ignored a frame that is not JSON: %.80r", text)
            return
        if isinstance(msg, list):
            # Several messages in one: the server chose `auroraview.batch` (docs/network.md).
            for one in cast("list[Any]", msg):
                if isinstance(one, dict):
                    await self._on_one(cast("dict[str, Any]", one))
                else:
                    log.warning("ignored a batched message that is not a message: %.80r", one)
            return
        if not isinstance(msg, dict):
            log.warning("ignored a frame that is not a message: %.80r", text)
            return
        await self._on_one(cast("dict[str, Any]", msg))

    async def _on_one(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "item":
            self._on_item(message)
        elif kind == "call_result":
            self._on_result(message)
        elif kind == "publication":
            self._on_publication(message)
        elif kind == "event":
            event = message.get("event")
            if isinstance(event, str):
                self._dispatch(event, message.get("payload"))
        elif kind == "ping":
            with contextlib.suppress(InvokeError):
                await self._send(_PONG)
        elif kind not in ("pong", "welcome"):
            # Newer servers may send more kinds; ignoring them is how the protocol grows.
            log.debug("ignored a message of type %r", kind)

    def _on_frame(self, frame: bytes) -> None:
        """A binary message: a binary command's reply (docs/binary.md), its attachments put
        back in its result."""
        try:
            text, blobs = decode_frame(frame)
            msg = from_json(text)
        except ValueError as exc:
            log.warning("ignored a binary message that is not a frame: %s", exc)
            return
        del frame
        if not isinstance(msg, dict) or cast("dict[str, Any]", msg).get("type") != "call_result":
            log.warning("ignored a binary frame that is not a call_result: %.80r", text)
            return
        message = cast("dict[str, Any]", msg)
        if message.get("ok") and "result" in message:
            try:
                message["result"] = _binary.put_back(message["result"], blobs)
            except _binary.AttachmentError as exc:
                error = {
                    "name": ERROR_NAMES["internal"],
                    "code": "internal",
                    "message": f"the reply's attachments do not match it: {exc}",
                }
                message = {"type": "call_result", "id": message.get("id"), "ok": False, "error": error}
        self._on_result(message)

    def _on_item(self, msg: dict[str, Any]) -> None:
        call_id = msg.get("id")
        if not isinstance(call_id, int):
            return
        seq, item = msg.get("seq"), msg.get("item")
        stream = self._streams.get(call_id)
        if stream is not None:
            stream.push(seq, item)  # its consumer checks the sequence and acknowledges
            return
        fut = self._pending.get(call_id)
        if fut is None or fut.done():
            return  # the call ended, timed out or was cancelled: items still on their way
        channel = self._channels.get(call_id)
        if channel is None:
            # A plain call of a stream or channel command: its items are dropped, and
            # acknowledged so that the host is not held at its window.
            channel = self._channels[call_id] = _Channel(self._methods.get(call_id, "?"), None)
        if seq != channel.last + 1:
            del self._pending[call_id]
            self._channels.pop(call_id, None)
            fut.set_exception(_out_of_sequence(call_id, channel.method, seq, channel.last))
            self._spawn(self._send_cancel(call_id))
            return
        channel.last += 1
        if channel.on_item is not None:
            try:
                result = channel.on_item(item)
            except Exception:
                log.exception("on_item of call %s (%s) raised", call_id, channel.method)
            else:
                if inspect.isawaitable(result):
                    if inspect.iscoroutine(result):
                        result.close()
                    log.error(
                        "on_item of call %s (%s) is async; on_item must be a plain function", call_id, channel.method
                    )
        if not self._acks_due:
            # One acknowledgement per call once the frames already received are handled
            # (the reader reads buffered frames without yielding to the loop).
            self._loop.call_soon(self._flush_acks)
        self._acks_due[call_id] = channel.last

    def _flush_acks(self) -> None:
        due, self._acks_due = self._acks_due, {}
        acks = [(call_id, seq) for call_id, seq in due.items() if call_id in self._pending]
        if acks and not self._closed:
            self._spawn(self._send_acks(acks))

    async def _send_acks(self, acks: list[tuple[int, int]]) -> None:
        for call_id, seq in acks:
            if call_id in self._pending:  # its reply may have come meanwhile
                await self._send_ack(call_id, seq)

    def _on_result(self, msg: dict[str, Any]) -> None:
        call_id = msg.get("id")
        if not isinstance(call_id, int):
            return
        error = msg.get("error")
        callbacks = self._requests.pop(call_id, None)
        if callbacks is not None:
            if msg.get("ok"):
                callbacks[0](msg.get("result"))
            else:
                callbacks[1](InvokeError.from_wire(cast("dict[str, Any]", error) if isinstance(error, dict) else {}))
            return
        stream = self._streams.pop(call_id, None)
        if stream is not None:
            stream.end(
                None
                if msg.get("ok")
                else InvokeError.from_wire(cast("dict[str, Any]", error) if isinstance(error, dict) else {})
            )
            return
        self._channels.pop(call_id, None)
        fut = self._pending.pop(call_id, None)
        if fut is None or fut.done():
            return  # a late reply to a call that timed out or was cancelled
        if msg.get("ok"):
            fut.set_result(msg.get("result"))
        else:
            fut.set_exception(InvokeError.from_wire(cast("dict[str, Any]", error) if isinstance(error, dict) else {}))

    def _dispatch(self, event: str, payload: Any) -> None:
        if self._sink is not None:
            self._invoke(self._sink, event, event, payload)
        for handler in list(self._handlers.get(event, ())):
            self._invoke(handler, event, payload)
        for any_handler in list(self._any):
            self._invoke(any_handler, event, event, payload)

    def _invoke(self, fn: Callable[..., object], event: str, *args: Any) -> None:
        try:
            result = fn(*args)
        except Exception:
            log.exception("handler %s for event %r failed", getattr(fn, "__qualname__", fn), event)
            return
        if inspect.isawaitable(result):
            self._spawn(result)

    async def _beat(self, gen: int) -> None:
        """Ping when nothing was sent for a heartbeat, and also when nothing was heard for
        one (the spec asks only the former; the latter makes a client that only sends
        events still probe a silent server); a server silent for heartbeat + timeout is
        dead: the client closes with 4002."""
        hb, limit = self.heartbeat, self.heartbeat + self.heartbeat_timeout
        ws = self._ws
        while self._connected and self._gen == gen:
            now = self._loop.time()
            if now - self._last_recv >= limit:
                reason = f"nothing from the server for {limit:g} s"
                log.warning("closing the connection to %s: %s", self.url, reason)
                self._lost(gen, 4002, reason)
                with contextlib.suppress(Exception):
                    await ws.close(4002, "heartbeat timeout")
                return
            probe = max(self._last_recv, self._last_ping) + hb
            if now >= self._last_send + hb or now >= probe:
                self._last_ping = now
                try:
                    await self._send(_PING)
                except InvokeError:
                    return
                continue
            wake = min(self._last_send + hb, probe, self._last_recv + limit)
            await asyncio.sleep(max(wake - now, 0.005))

    def _fail_in_flight(self, code: int, reason: str) -> None:
        """The connection is gone, and the host forgot every call on it: fail them."""
        message = f"the connection closed ({describe_close(code, reason)}) before the reply"
        pending = list(self._pending.values())
        streams = list(self._streams.values())
        requests = list(self._requests.values())
        self._pending.clear()
        self._streams.clear()
        self._channels.clear()
        self._methods.clear()
        self._acks_due.clear()
        self._requests.clear()
        for fut in pending:
            if not fut.done():
                fut.set_exception(_disconnected(message))
        for stream in streams:  # after the items they hold, as a call's reply would
            stream.end(_disconnected(message))
        for _, on_error in requests:
            on_error(_disconnected(message))

    def _lost(self, gen: int, code: int, reason: str) -> None:
        """Connection ``gen`` ended (its reader, heartbeat or a send found out): reconnect,
        or end for good. An older connection's news, or a repeat, is ignored."""
        if self._closed or gen != self._gen or not self._connected:
            return
        if not self._reconnect or self._closing or code in _FATAL_CLOSES:
            self._finish(code, reason)
            return
        self._connected = False
        if self._loop.time() - self._up_since >= _RECONNECT_STABLE:
            self._attempt = 0  # it held: the first delay again
        log.info("connection to %s lost (%s); reconnecting", self.url, describe_close(code, reason))
        self._fail_in_flight(code, reason)
        self._topics_lost(closed=False)
        if self._pulse is not asyncio.current_task():
            self._pulse.cancel()
        self._redialer = self._loop.create_task(self._redial(self._ws), name="auroraview-client-reconnect")

    async def _redial(self, old: ClientConnection) -> None:
        """Dial again until welcomed (with backoff), or until refused for good (the token,
        HTTP 403). A failure of its own closes the client (1011) rather than leave it
        neither connected nor closed."""
        try:
            await self._redial_loop(old)
        except Exception as exc:
            log.exception("reconnecting to %s failed; closing the client", self.url)
            self._finish(1011, f"reconnecting failed: {type(exc).__name__}: {exc}")

    async def _redial_loop(self, old: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(old.close(), 1.0)
        assert self._token is not None
        while not self._closed:
            attempt = self._attempt
            await asyncio.sleep(random.uniform(0, min(_RECONNECT_MAX, _RECONNECT_BASE * 2 ** min(attempt, 30))))
            self._attempt = attempt = attempt + 1
            if self._closed:
                return
            try:
                ws, welcome = await _dial(self.url, self._token, self.heartbeat_timeout)
            except AuthenticationError as exc:
                self._finish(4001, str(exc))
                return
            except ConnectError as exc:
                if exc.status in _FATAL_STATUSES:
                    self._finish(1006, str(exc))  # as the TypeScript client: retrying does not help
                    return
                log.debug("reconnection attempt %d to %s failed: %s", attempt, self.url, exc)
                continue
            if self._closed:  # closed while dialing
                with contextlib.suppress(Exception):
                    await ws.close()
                return
            self._ws = ws
            self._welcomed(welcome)
            self._gen += 1
            self._connected = True
            self._reconnects += 1
            now = self._loop.time()
            self._last_recv = self._last_send = self._last_ping = now
            self._up_since = now  # the backoff starts again once this one held a while
            self._reader = self._loop.create_task(self._read(ws, self._gen), name="auroraview-client-reader")
            self._pulse = self._loop.create_task(self._beat(self._gen), name="auroraview-client-heartbeat")
            log.info("reconnected to %s (conn %d, attempt %d)", self.url, self._conn, attempt)
            self._topics_opened()  # every subscription again, with its position
            return

    def _finish(self, code: int, reason: str) -> None:
        """The client ended for good: fail the calls in flight, then tell whoever listens. Once."""
        if self._closed:
            return
        self._closed = True
        self._connected = False
        self._close_code, self._close_reason = code, reason
        self._fail_in_flight(code, reason)
        self._topics_lost(closed=True)
        self._closed_event.set()
        if self._pulse is not asyncio.current_task():
            self._pulse.cancel()
        if self._redialer is not None and self._redialer is not asyncio.current_task():
            self._redialer.cancel()
        by_close = self._closing
        if self._on_finish is not None:
            try:
                self._on_finish(code, reason, by_close)
            except Exception:
                log.exception("a disconnect callback failed")
        if not by_close:
            log.info("connection to %s ended: %s", self.url, describe_close(code, reason))
            if self._on_disconnect is not None:
                self._invoke(self._on_disconnect, "<disconnect>", code, reason)


async def connect_async(
    url: str,
    token: str | None = None,
    *,
    timeout: float = 10.0,
    heartbeat: float | None = None,
    on_disconnect: DisconnectHandler | None = None,
    reconnect: bool = False,
) -> AsyncClient:
    """Connect to an AuroraView server and wait for its welcome.

    ``url``: the URL the server prints (``http://HOST:PORT/?token=T``) or its WebSocket
    endpoint (``ws://HOST:PORT/__auroraview/ws``) with ``token``. ``timeout``: seconds to
    open the connection and be welcomed, and also the silence past the heartbeat after
    which the server is taken for dead. ``heartbeat``: seconds between this client's pings
    when idle (default: the server's, from its welcome). ``on_disconnect(code, reason)``:
    called once if the client ends other than by ``close()``. ``reconnect``: dial again
    after a lost connection (not after 4001 or 4003), with backoff, for as long as it takes;
    calls in flight, and calls made while reconnecting, fail with ``disconnected``; topic
    subscriptions are restored (docs/topics.md). Without it the first loss ends the client.

    Raises `AuthenticationError` when the token is refused, `ConnectError` when there is
    no server, no answer in time, or not an AuroraView server there, `ValueError` for a URL
    or token that cannot be right (before connecting)."""
    return await _open(
        url, token, timeout=timeout, heartbeat=heartbeat, on_disconnect=on_disconnect, reconnect=reconnect
    )


async def _open(
    url: str,
    token: str | None,
    *,
    timeout: float,
    heartbeat: float | None,
    on_disconnect: DisconnectHandler | None,
    sink: AnyEventHandler | None = None,
    on_finish: Callable[[int, str, bool], None] | None = None,
    reconnect: bool = False,
) -> AsyncClient:
    ws_url, token = resolve_url(url, token)
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    if heartbeat is not None and heartbeat <= 0:
        raise ValueError(f"heartbeat must be positive, got {heartbeat}")
    ws, welcome = await _dial(ws_url, token, timeout)
    return AsyncClient(
        ws,
        welcome,
        url=ws_url,
        heartbeat=heartbeat,
        timeout=timeout,
        on_disconnect=on_disconnect,
        sink=sink,
        on_finish=on_finish,
        token=token,
        reconnect=reconnect,
    )


async def _dial(ws_url: str, token: str, timeout: float) -> tuple[ClientConnection, dict[str, Any]]:
    """Open a connection to ``ws_url`` and wait for its welcome."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        ws = await ws_connect(
            ws_url,
            additional_headers={"Authorization": f"Bearer {token}"},
            # Several messages queued together may then come as one (a JSON array).
            subprotocols=[Subprotocol("auroraview.batch"), Subprotocol("auroraview")],
            open_timeout=timeout,
            # The protocol's own JSON ping/pong is the heartbeat (both sides, same rule);
            # WebSocket-level pings would be a second one. Pings from the server are still answered.
            ping_interval=None,
            close_timeout=min(timeout, 5.0),
            # The server bounds what it sends (max_message_bytes); the client trusts the
            # server it authenticated to rather than fail a large result with 1009.
            max_size=None,
            # Small JSON messages, mostly on loopback: compression would cost more than it saves.
            compression=None,
            **_proxy_option(ws_url),
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        if status == 401:
            raise AuthenticationError(f"{ws_url}: the server refused the token (HTTP 401)", status=status) from None
        meaning = {403: "origin refused", 503: "the server is at max_connections", 404: "no AuroraView endpoint here"}
        raise ConnectError(f"{ws_url}: HTTP {status} ({meaning.get(status, 'refused')})", status=status) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise ConnectError(f"{ws_url}: no answer within {timeout:g} s") from None
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise ConnectError(f"cannot connect to {ws_url}: {exc}") from exc
    try:
        welcome = await _welcome(ws, ws_url, max(deadline - loop.time(), 0.001))
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 1.0)
        raise
    return ws, welcome


async def _welcome(ws: ClientConnection, ws_url: str, timeout: float) -> dict[str, Any]:
    try:
        frame = await asyncio.wait_for(ws.recv(), timeout)
    except (asyncio.TimeoutError, TimeoutError):
        raise ConnectError(f"{ws_url}: no welcome within the timeout (not an AuroraView server?)") from None
    except ConnectionClosed as exc:
        code, reason = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd is not None else (1006, "")
        cls = AuthenticationError if code == 4001 else ConnectError
        raise cls(f"{ws_url}: closed before the welcome ({describe_close(code, reason)})", close_code=code) from None
    try:
        msg = from_json(frame)
    except ValueError:
        msg = None
    welcome = cast("dict[str, Any]", msg) if isinstance(msg, dict) else {}
    if welcome.get("type") != "welcome" or not isinstance(welcome.get("conn"), int):
        raise ConnectError(f"{ws_url}: expected a welcome, got {frame!r:.120} (not an AuroraView server?)")
    protocol = welcome.get("protocol", PROTOCOL_VERSION)
    if protocol != PROTOCOL_VERSION:
        raise ConnectError(f"{ws_url}: the server speaks protocol {protocol!r}; this client speaks {PROTOCOL_VERSION}")
    return welcome


# -- the sync client -------------------------------------------------------------------


class _LoopThread:
    """A private event loop in a daemon thread: the sync client's I/O."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name="auroraview-client-io", daemon=True)
        self._lock = threading.Lock()
        self._stopped = False
        self.thread.start()

    def _main(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # As asyncio.run ends: whatever still runs is cancelled and waited for.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, coro: Coroutine[Any, Any, T], closed_message: str = "the client is closed") -> T:
        """Run ``coro`` on the loop and wait for it (Ctrl-C cancels it there)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a blocking client method was called from the client's I/O thread; it would deadlock")
        with self._lock:
            if self._stopped:
                coro.close()
                raise _disconnected(closed_message)
            fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result()
        except concurrent.futures.CancelledError:
            raise _disconnected(closed_message) from None
        except BaseException:
            fut.cancel()  # KeyboardInterrupt: the call is cancelled (and a cancel sent)
            raise

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self.thread:
            self.thread.join()


class _EventThread:
    """Runs the sync client's handlers, one at a time and in order, off the I/O thread: a
    slow handler never delays replies or heartbeats, and a handler may call the client."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._main, name="auroraview-client-events", daemon=True)
        self.thread.start()

    def _main(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("a client event handler failed")

    def post(self, job: Callable[[], object]) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        """Run what is queued, then end (not waited for from a handler itself)."""
        self._queue.put(None)
        if threading.current_thread() is not self.thread:
            self.thread.join()


class Client:
    """A blocking client (see `connect`): the `AsyncClient` on a private loop in a daemon
    thread. Thread-safe. Handlers (``on``, ``on_any``, ``on_disconnect``) run one at a
    time, in order, on the client's event thread — not the I/O thread, so a slow handler
    delays other handlers but never replies or heartbeats, and a handler may call
    ``client.call``. A call's ``on_item`` is the exception: it runs on the I/O thread."""

    def __init__(self, io: _LoopThread, events: _EventThread, on_disconnect: DisconnectHandler | None) -> None:
        self._io = io
        self._events = events
        self._inner: AsyncClient | None = None
        self._lock = threading.Lock()
        self._handlers: dict[str, list[EventHandler]] = {}
        self._any: list[AnyEventHandler] = []
        self._on_disconnect = on_disconnect
        self._ended = threading.Event()
        self._closed_by_user = False

    # -- identity and state ------------------------------------------------------------

    @property
    def inner(self) -> AsyncClient:
        if self._inner is None:  # pragma: no cover - set by connect() before it returns
            raise RuntimeError("not connected")
        return self._inner

    @property
    def conn(self) -> int:
        """This connection's id on the server (from its welcome)."""
        return self.inner.conn

    @property
    def url(self) -> str:
        """The WebSocket endpoint."""
        return self.inner.url

    @property
    def heartbeat(self) -> float:
        return self.inner.heartbeat

    @property
    def closed(self) -> bool:
        """The client has ended, for good (a reconnecting client is not closed)."""
        return self.inner.closed

    @property
    def connected(self) -> bool:
        """A connection is open and welcomed: False while reconnecting, and once closed."""
        return self.inner.connected

    def stats(self) -> ClientStats:
        """Counters of this client's topics and reconnections (`ClientStats`)."""
        return self.inner.stats()

    @property
    def close_code(self) -> int | None:
        return self.inner.close_code

    @property
    def close_reason(self) -> str:
        return self.inner.close_reason

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the connection has ended (True), or ``timeout`` seconds (False)."""
        return self._ended.wait(timeout)

    # -- calls and events ----------------------------------------------------------------

    def call(
        self,
        method: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        on_item: ItemHandler | None = None,
    ) -> Any:
        """Call ``method`` and return its result (JSON-decoded), or raise `InvokeError` (see
        `AsyncClient.call`): ``timeout`` after ``timeout`` seconds (a cancel is sent),
        ``disconnected`` if the connection ends first or had ended.

        ``on_item(item)`` gets a channel command's items, in order, before this returns. It
        runs on the client's I/O thread, not the caller's nor the event thread: keep it
        short (replies and heartbeats wait for it), and do not call this client's blocking
        methods from it (they raise ``RuntimeError`` there rather than deadlock)."""
        inner = self.inner
        if inner.closed:
            raise _disconnected(inner._closed_message())
        return self._io.run(inner.call(method, params, timeout=timeout, on_item=on_item))

    def stream(self, method: str, params: Any = None, *, timeout: float | None = None) -> Generator[Any, None, None]:
        """Call stream command ``method`` and iterate over its items (``for``), as
        `AsyncClient.stream` does, blocking on the client's I/O thread for each. Nothing is
        sent before iteration starts. Closing the iterator early (``break`` in a ``for``
        over it, ``close()``, an exception in the loop, Ctrl-C) cancels the stream on the
        host. Errors (``timeout``, the stream's own, ``disconnected``) raise `InvokeError`
        from the loop after the items received before them."""
        inner = self.inner
        if inner.closed:
            raise _disconnected(inner._closed_message())
        items = inner.stream(method, params, timeout=timeout)
        try:
            while True:
                more, item = self._io.run(_next_item(items))
                if not more:
                    return
                yield item
        finally:
            self._close_stream(items)

    def send_event(self, event: str, detail: Any = None) -> None:
        """Send an event to the server's app; returns once it is written to the socket."""
        inner = self.inner
        if inner.closed:
            raise _disconnected("the client is closed")
        self._io.run(inner.send_event(event, detail))

    def subscribe(
        self,
        topic: str,
        handler: TopicHandler,
        *,
        on_recovery: RecoveryHandler | None = None,
        on_error: SubscriptionErrorHandler | None = None,
    ) -> SyncSubscription:
        """Subscribe ``handler(data, publication)`` to ``topic``, as `AsyncClient.subscribe`
        does; blocks until the host confirmed it, or raises `InvokeError` (``forbidden``,
        ``unknown_topic``, ``invalid_params``, ``disconnected``). ``handler``, ``on_recovery``
        and ``on_error`` are sync and run on the client's event thread, one at a time, in
        the order the client received what they are told (with the events), so a recovery
        notice always comes before the messages that follow it; a handler may call the
        client. One that raises is logged."""
        inner = self.inner
        if not inner.connected:  # closed, or reconnecting
            raise _disconnected(inner._closed_message())
        live = threading.Event()
        live.set()
        label = f"topic {topic!r}"

        def post(fn: Callable[..., object] | None, *args: Any) -> None:
            if fn is not None:
                self._events.post(lambda: _run_handler(fn, label, *args) if live.is_set() else None)

        sub = self._io.run(
            inner.subscribe(
                topic,
                lambda data, publication: post(handler, data, publication),
                on_recovery=None if on_recovery is None else lambda info: post(on_recovery, info),
                on_error=None if on_error is None else lambda error: post(on_error, error),
            )
        )
        return SyncSubscription(self, sub, live)

    def publish(self, topic: str, data: Any, *, timeout: float | None = None) -> PublishResult:
        """Publish ``data`` on ``topic`` (see `AsyncClient.publish`): the `PublishResult`, or
        `InvokeError`."""
        inner = self.inner
        if inner.closed:
            raise _disconnected(inner._closed_message())
        return self._io.run(inner.publish(topic, data, timeout=timeout))

    def on(self, event: str, handler: EventHandler) -> Callable[[], None]:
        """Run ``handler(payload)`` for each ``event`` the server pushes (on the client's
        event thread); returns a function that unsubscribes it."""
        with self._lock:
            self._handlers.setdefault(event, []).append(handler)
        return lambda: self.off(event, handler)

    def on_any(self, handler: AnyEventHandler) -> Callable[[], None]:
        """Run ``handler(event, payload)`` for every event the server pushes."""
        with self._lock:
            self._any.append(handler)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._any.remove(handler)

        return unsubscribe

    def off(self, event: str, handler: EventHandler | None = None) -> None:
        """Unsubscribe ``handler`` from ``event``, or every handler of ``event``."""
        with self._lock:
            handlers = self._handlers.get(event)
            if handlers is None:
                return
            if handler is None:
                handlers.clear()
            else:
                with contextlib.suppress(ValueError):
                    handlers.remove(handler)
            if not handlers:
                del self._handlers[event]

    # -- end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and stop the client's threads. Calls in flight fail with
        ``disconnected``; ``on_disconnect`` is not called. Idempotent; may be called from
        a handler."""
        with self._lock:
            if self._closed_by_user:
                return
            self._closed_by_user = True
        if self._inner is not None:
            with contextlib.suppress(InvokeError):
                self._io.run(self._inner.close())
        self._io.stop()
        self._events.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client of {self._inner!r}>"

    # -- internals (on the I/O thread) ---------------------------------------------------

    def _close_stream(self, items: AsyncGenerator[Any, None]) -> None:
        """Close a stream's async generator on the I/O thread (which sends the cancel if it
        had not ended). Also from a finalizer on that thread, where it cannot be waited for."""
        if threading.current_thread() is self._io.thread:
            self.inner._spawn(_aclose(items))
            return
        # A closed client's loop has closed the generator already; one still running (its
        # wait interrupted by Ctrl-C) is ending on its own, cancelled.
        with contextlib.suppress(InvokeError, RuntimeError):
            self._io.run(_aclose(items))

    def _sink(self, event: str, payload: Any) -> None:
        self._events.post(lambda: self._dispatch(event, payload))

    def _post(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the event thread, after the events received so far."""
        self._events.post(job)

    def _dispatch(self, event: str, payload: Any) -> None:
        with self._lock:
            handlers = list(self._handlers.get(event, ()))
            any_handlers = list(self._any)
        for handler in handlers:
            _run_handler(handler, event, payload)
        for any_handler in any_handlers:
            _run_handler(any_handler, event, event, payload)

    def _on_finish(self, code: int, reason: str, by_close: bool) -> None:
        def done() -> None:
            self._ended.set()
            if not by_close and self._on_disconnect is not None:
                _run_handler(self._on_disconnect, "<disconnect>", code, reason)

        self._events.post(done)


class SyncSubscription:
    """One local subscriber of a topic on a `Client` (see `Client.subscribe`).
    ``epoch``/``offset``: the position the subscription started from."""

    def __init__(self, client: Client, inner: Subscription, live: threading.Event) -> None:
        self._client = client
        self._inner = inner
        self._live = live
        self.topic = inner.topic
        self.epoch = inner.epoch
        self.offset = inner.offset

    @property
    def active(self) -> bool:
        return self._live.is_set() and self._inner.active

    def unsubscribe(self) -> None:
        """Stop: the handler is not called again, not even for what the event thread still
        holds. Blocks until the host confirmed the end of the wire subscription (at once
        while other local subscribers of the topic remain). Idempotent; a closed client has
        nothing to unsubscribe."""
        self._live.clear()
        if self._client.closed:
            return
        with contextlib.suppress(InvokeError):  # closed meanwhile: nothing left to end
            self._client._io.run(self._inner.unsubscribe())

    def __repr__(self) -> str:
        state = "active" if self.active else "ended"
        return f"<SyncSubscription {self.topic!r} from {self.epoch}:{self.offset} {state}>"


async def _next_item(items: AsyncIterator[Any]) -> tuple[bool, Any]:
    """The next item of ``items``: (True, item), or (False, None) at its end."""
    try:
        return True, await anext(items)
    except StopAsyncIteration:
        return False, None


async def _aclose(items: AsyncGenerator[Any, None]) -> None:
    await items.aclose()


def _run_handler(fn: Callable[..., object], event: str, *args: Any) -> None:
    try:
        result = fn(*args)
    except Exception:
        log.exception("handler %s for event %r failed", getattr(fn, "__qualname__", fn), event)
        return
    if inspect.isawaitable(result):
        # A coroutine handler on a sync client has no loop to run on: say so, once per call.
        if inspect.iscoroutine(result):
            result.close()
        log.error("handler %s for event %r is async; a sync Client runs sync handlers only", fn, event)


def connect(
    url: str,
    token: str | None = None,
    *,
    timeout: float = 10.0,
    heartbeat: float | None = None,
    on_disconnect: DisconnectHandler | None = None,
    reconnect: bool = False,
) -> Client:
    """Connect to an AuroraView server, blocking until it welcomes this client (see
    `connect_async` for the arguments and errors). For scripts and threads; use it as a
    context manager, or ``close()`` it."""
    return _connect(url, token, timeout=timeout, heartbeat=heartbeat, on_disconnect=on_disconnect, reconnect=reconnect)


def _connect(
    url: str,
    token: str | None,
    *,
    timeout: float,
    heartbeat: float | None,
    on_disconnect: DisconnectHandler | None,
    setup: Callable[[Client], object] | None = None,
    reconnect: bool = False,
) -> Client:
    """`connect`, with ``setup(client)`` run before the connection opens: handlers it
    subscribes see every event, even one the server pushes right after the welcome."""
    io = _LoopThread()
    events = _EventThread()
    client = Client(io, events, on_disconnect)
    try:
        if setup is not None:
            setup(client)
        client._inner = io.run(
            _open(
                url,
                token,
                timeout=timeout,
                heartbeat=heartbeat,
                on_disconnect=None,
                sink=client._sink,
                on_finish=client._on_finish,
                reconnect=reconnect,
            ),
            "the client could not connect",
        )
    except BaseException:
        io.stop()
        events.stop()
        raise
    return client
