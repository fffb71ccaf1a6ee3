"""Testing an app: `TestClient` drives it through the real Rust router, with no window;
`VirtualDisplay`, `screenshot` and `png_is_blank` run its real windows headless (docs/testing.md).

`TestClient` speaks the wire protocol: it is one more in-process connection to the app's router —
the same router the app's windows use — and every reply is a frame decoded from the wire.

    async with TestClient(commands) as client:
        assert await client.call("greet", {"name": "Ada"}) == "hello Ada"

A binary command's calls (docs/binary.md) travel as the typed client sends them: as binary
frames, each `bytes` in the params an attachment; `bytes` in a reply come back as `bytes`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from . import _binary, _core
from ._runtime import Runtime
from ._xvfb import VirtualDisplay, png_is_blank, screenshot
from .app import App
from .commands import Commands
from .errors import InvokeError
from .webview import WebView

__all__ = ["ReceivedEvent", "ReceivedPublication", "TestClient", "VirtualDisplay", "png_is_blank", "screenshot"]

# Frames handled per loop wake-up, so a flood of replies never stalls the loop.
_BATCH = 256
# A stream's consumer acknowledges at least this often (and whenever it waits, empty-handed).
_ACK_EVERY = 32
# The first byte of a binary frame (docs/binary.md); no JSON text starts with it.
_FRAME_TAG = b"\x00"

log = logging.getLogger("auroraview")


@dataclass(frozen=True)
class ReceivedEvent:
    """An event the host pushed to this client."""

    name: str
    payload: Any


@dataclass(frozen=True)
class ReceivedPublication:
    """A topic's message the host sent this client (docs/topics.md)."""

    topic: str
    epoch: str
    offset: int
    data: Any


class TestClient:
    """An in-process client of an `App`, or of the app of a `Commands` registry or a `WebView`.

    Handlers run on the app's loop: the loop that enters the client, unless the app already
    runs elsewhere (a window shown with ``block=False``). A client of a `WebView` stands in
    for its page: it gets the events the view emits (``view.emit``).

    ``debug`` and ``sync_workers`` set up the app's runtime when this client starts it (an
    error when it already runs with other settings). Limits (``max_in_flight=...`` and the
    other keys of ``auroraview._core.DEFAULT_LIMITS``) configure the app when this client
    makes it (a registry without an app yet); otherwise pass them to ``App(...)``.

    A handler raising `KeyboardInterrupt` or `SystemExit` gets its call answered
    ``internal`` like any other error; the client keeps serving, and `aclose()` (the end of
    the ``async with``) raises the exception once the client is closed, as ``show()`` would
    for a window (not when the block is already leaving with an exception of its own).
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        app: App | Commands | WebView,
        *,
        debug: bool | None = None,
        sync_workers: int | None = None,
        **limits: int,
    ) -> None:
        self._window: str | None = None
        if isinstance(app, WebView):
            self._window = app.label
            app = app.app
        elif isinstance(app, Commands):
            if limits and app._app is None:
                App(app, limits=limits)
                limits = {}
            app = app.app
        elif not isinstance(app, App):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(f"TestClient expects an App, a Commands registry or a WebView, got {type(app).__name__}")
        if limits:
            raise ValueError("limits configure a new app: this registry already has one; pass limits= to App(...)")
        #: Settings for the app's runtime when this client starts it (None: the app's).
        self._debug = debug
        self._sync_workers = sync_workers
        self.app = app
        self._runtime: Runtime | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._raw: dict[int | str, asyncio.Future[str]] = {}
        #: Item frames of stream and channel calls in flight, by call id: called with
        #: ``(seq, item)``; a stream's also gets its reply (``seq`` None, the frame).
        self._items: dict[int, Callable[[int | None, Any], None]] = {}
        self._acks: dict[int, int] = {}  # channel items consumed in the batch being handled
        self._events: list[ReceivedEvent] = []
        self._event_waiters: list[tuple[str | None, asyncio.Future[ReceivedEvent]]] = []
        self._publications: list[ReceivedPublication] = []
        #: The handler of each topic subscribed (None: recorded only).
        self._topic_handlers: dict[str, Callable[[Any], Any] | None] = {}
        self._publication_waiters: list[tuple[str, int, asyncio.Future[ReceivedPublication]]] = []
        self._conn: _core.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- lifecycle ------------------------------------------------------------------

    async def __aenter__(self) -> TestClient:
        loop = asyncio.get_running_loop()
        home = self.app._hold_loop(start=False)
        if home is None or home is loop:
            if home is not None:
                self.app._let_go()  # this loop: attached before anything else runs here
            self._runtime = self.app._attach(in_loop=True, debug=self._debug, sync_workers=self._sync_workers)
        else:
            attached, abandon = self.app._attach_held(
                home, lambda: self.app._attach(in_loop=False, debug=self._debug, sync_workers=self._sync_workers)
            )
            try:
                self._runtime = await asyncio.wrap_future(attached)
            except BaseException:
                abandon()  # cancelled while waiting: the attach is undone
                raise
        self._loop = loop
        self._conn = self.app.core.connect(window=self._window)
        loop.add_reader(self._conn.fileno(), self._on_frames)
        return self

    async def _on_home(self, coro: Any) -> Any:
        """Run ``coro`` on the app's loop and wait for it here."""
        home = self.app.loop
        if home is None or home is asyncio.get_running_loop():
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, home))

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        await self._close(reraise=exc_type is None)

    async def aclose(self) -> None:
        """Disconnect: calls still in flight fail `shutting_down` here and their handlers
        are cancelled; the app's runtime stops if nothing else is attached. Then raises the
        `KeyboardInterrupt` or `SystemExit` a handler raised meanwhile, if any."""
        await self._close(reraise=True)

    async def _close(self, *, reraise: bool) -> None:
        conn, runtime = self._conn, self._runtime
        if self._loop is None or conn is None:
            return
        self._drain_frames()
        self._loop.remove_reader(conn.fileno())
        conn.close()
        for fut in [*self._pending.values(), *self._raw.values()]:
            if not fut.done():
                fut.set_exception(InvokeError.framework("shutting_down", "the test client was closed"))
        for call_id, reader in list(self._items.items()):
            if call_id not in self._pending:  # a stream: ends with the error its calls get
                closed = InvokeError.framework("shutting_down", "the test client was closed")
                error = {"name": closed.name, "code": closed.code, "message": closed.message, "data": None}
                reader(None, {"ok": False, "error": error})
        self._items.clear()
        self._pending.clear()
        self._raw.clear()
        in_loop = self.app.loop is self._loop
        self._loop = self._runtime = None
        await self._on_home(self.app._detach(in_loop=in_loop))
        fatal = runtime.fatal if runtime is not None else None
        if fatal is not None and reraise:
            raise fatal

    @property
    def runtime(self) -> Runtime:
        """The app's runtime (while this client is open)."""
        if self._runtime is None:
            raise RuntimeError("TestClient is not open: use `async with TestClient(app) as client:`")
        return self._runtime

    @property
    def connection(self) -> int:
        """This client's connection id (the one its calls carry to the app's runtime)."""
        return self._require_open()[1].id

    # -- calls ----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Any = None,
        *,
        timeout: float | None = None,
        on_item: Callable[[Any], None] | None = None,
    ) -> Any:
        """Call `method` and return its decoded result, or raise `InvokeError`: the reply's
        ``{name, code, message, data}``, a subclass of the `InvokeException` handlers raise
        (``pytest.raises(InvokeException)`` catches it; ``e.matches(NameTaken)`` checks the class).

        A binary command (its params or result hold `bytes`, docs/binary.md) is called with a
        binary frame, the `bytes` in ``params`` (anywhere: a field of a model, an item of a
        list) sent raw; the `bytes` of its result come back as `bytes`, where the JSON of other
        results has strings (models come back as dicts, as for any command).

        With `timeout`, or when the awaiting task is cancelled, a `cancel` message is sent
        (as the JS client does for an AbortSignal) and the handler sees `CancelledError`.
        ``on_item`` gets the items a channel command sends, in order, before its result
        (acknowledged once it returned; an exception it raises is logged)."""
        loop, conn = self._require_open()
        call_id = next(self._ids)
        msg: dict[str, Any] = {"type": "call", "id": call_id, "method": method}
        if params is not None:
            msg["params"] = params
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[call_id] = fut
        if on_item is not None:
            self._items[call_id] = self._channel_reader(call_id, on_item)
        cmd = self.app.commands.get(method)
        try:
            if cmd is not None and cmd.binary:
                kind, _ = self._send_binary(conn, msg)
            else:
                kind, _ = conn.send(to_json(msg))
        except BaseException:
            self._pending.pop(call_id, None)
            self._items.pop(call_id, None)
            raise
        if kind == "dropped":
            self._pending.pop(call_id, None)
            self._items.pop(call_id, None)
            raise InvokeError.framework("invalid_message", "the router dropped the call (see core stats)")
        if kind == "replied":
            self._on_frames()
        try:
            if timeout is None:
                return await fut
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            self._send_cancel(call_id)
            raise InvokeError.framework("timeout", f"no reply within {timeout} s; the call was cancelled") from None
        except asyncio.CancelledError:
            self._send_cancel(call_id)
            raise

    def _send_binary(self, conn: _core.Connection, msg: dict[str, Any]) -> _core._Receipt:
        """Send a call as a binary frame: each `bytes` in its params an attachment."""
        rest, blobs = _binary.cut(_binary.to_plain(msg))
        total = sum(len(b) for b in blobs)
        limit = self.app.core.limits()["max_binary_bytes"]
        if total > limit:
            raise InvokeError.framework(
                "payload_too_large", f"the call's attachments are {total} bytes; the app's max_binary_bytes is {limit}"
            )
        frame = _core.encode_frame(to_json(rest), blobs)
        del rest, blobs
        return conn.send_frame(frame)

    def _channel_reader(self, call_id: int, on_item: Callable[[Any], None]) -> Callable[[int | None, Any], None]:
        def read(seq: int | None, item: Any) -> None:
            try:
                on_item(item)
            except Exception:
                log.exception("on_item for call %s raised", call_id)
            if seq is not None:
                self._acks[call_id] = seq

        return read

    async def stream(self, method: str, params: Any = None, *, timeout: float | None = None) -> AsyncIterator[Any]:
        """Call stream command `method` and iterate over its items (``async for``). Leaving
        the loop early (``break``, an exception), `timeout` (seconds, for the whole stream)
        or cancelling the task sends a `cancel` (the host closes the generator). An error
        reply raises `InvokeError` after the items before it. Items are acknowledged as
        they are consumed, as the JS client does (docs/streams.md)."""
        loop, conn = self._require_open()
        call_id = next(self._ids)
        msg: dict[str, Any] = {"type": "call", "id": call_id, "method": method}
        if params is not None:
            msg["params"] = params
        queue: asyncio.Queue[tuple[int | None, Any]] = asyncio.Queue()
        self._items[call_id] = lambda seq, item: queue.put_nowait((seq, item))
        kind, _ = conn.send(to_json(msg))
        if kind == "dropped":
            self._items.pop(call_id, None)
            raise InvokeError.framework("invalid_message", "the router dropped the call (see core stats)")
        if kind == "replied":
            self._on_frames()
        deadline = None if timeout is None else loop.time() + timeout
        consumed = acked = 0
        ended = False
        try:
            while True:
                if queue.empty() and consumed > acked:
                    acked = consumed
                    conn.send(to_json({"type": "ack", "id": call_id, "seq": acked}))
                try:
                    if deadline is None:
                        seq, value = await queue.get()
                    else:
                        seq, value = await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
                    raise InvokeError.framework("timeout", f"the stream did not end within {timeout} s; it was cancelled") from None
                if seq is None:  # the reply: the end
                    ended = True
                    if value["ok"]:
                        return
                    raise InvokeError.from_wire(value["error"])
                if seq != consumed + 1:
                    raise InvokeError.framework("internal", f"stream item {seq} arrived after item {consumed}: the stream is broken")
                consumed = seq
                yield value
                if consumed - acked >= _ACK_EVERY:
                    acked = consumed
                    conn.send(to_json({"type": "ack", "id": call_id, "seq": acked}))
        finally:
            self._items.pop(call_id, None)
            if not ended:
                self._send_cancel(call_id)

    def _send_cancel(self, call_id: int) -> None:
        self._pending.pop(call_id, None)
        self._items.pop(call_id, None)
        if self._loop is not None and self._conn is not None:
            self._conn.send(to_json({"type": "cancel", "id": call_id}))

    async def send_event(self, name: str, detail: Any = None) -> None:
        """Send an event to the host and wait until its handlers have run. Async handlers
        of earlier events still running are not waited for (one that never finishes holds
        up only its own `send_event`); sync event handlers run one at a time in order, so
        the wait includes those of earlier events."""
        _, conn = self._require_open()
        msg: dict[str, Any] = {"type": "event", "event": name}
        if detail is not None:
            msg["detail"] = detail
        before = await self._on_home(self._events_mark())
        conn.send(to_json(msg))
        await self._on_home(self.runtime.events_handled(before))

    async def send_raw(self, data: str | bytes, *, timeout: float = 5.0) -> str | None:
        """Inject one raw message. Returns the raw reply frame, or None when the message
        got no reply (an event, a cancel, a ready or hello, or a message the router dropped
        or refused and counted). Bytes starting with ``b"\\x00"`` are sent as a binary frame
        (docs/binary.md); a binary reply is returned as its JSON message (placeholders kept)."""
        loop, conn = self._require_open()
        raw = data.encode() if isinstance(data, str) else data
        before = await self._on_home(self._events_mark())
        match conn.send_frame(raw) if raw[:1] == _FRAME_TAG else conn.send(raw):
            case ("event" | "cancel" | "ready", _):
                await self._on_home(self.runtime.events_handled(before))
                return None
            case ("dropped" | "hello" | "refused", _):
                return None
            case ("accepted" | "replied", call_id):  # a call: its reply is (or will be) a frame
                fut: asyncio.Future[str] = loop.create_future()
                self._raw[call_id] = fut
                self._on_frames()
                try:
                    return await asyncio.wait_for(fut, timeout)
                finally:
                    self._raw.pop(call_id, None)

    async def _events_mark(self) -> frozenset[asyncio.Task[None]]:
        return self.runtime.events_mark()

    # -- events ---------------------------------------------------------------------

    @property
    def events(self) -> list[ReceivedEvent]:
        """Events pushed by the host so far, in order."""
        self._drain_frames()
        return list(self._events)

    async def wait_for_event(self, name: str | None = None, *, timeout: float = 5.0) -> ReceivedEvent:
        """The next event (named `name`, if given) pushed after this call."""
        loop, _ = self._require_open()
        fut: asyncio.Future[ReceivedEvent] = loop.create_future()
        waiter = (name, fut)
        self._event_waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            if waiter in self._event_waiters:
                self._event_waiters.remove(waiter)

    # -- topics (docs/topics.md) -------------------------------------------------------

    async def subscribe(
        self,
        topic: str,
        handler: Callable[[Any], Any] | None = None,
        *,
        since: tuple[str, int] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Subscribe to ``topic`` (``auroraview.subscribe``); returns the host's answer
        (``epoch``, ``offset``, and with ``since=(epoch, offset)`` ``recovered`` and maybe
        ``reason``). Every publication then received is recorded (`publications`) and passed
        to ``handler(data)``, in order, as the wire delivered it: this client is the raw view
        of what the host sent, with no deduplication. Raises `InvokeError` when refused."""
        params: dict[str, Any] = {"topic": topic}
        if since is not None:
            params["since"] = {"epoch": since[0], "offset": since[1]}
        self._topic_handlers[topic] = handler
        try:
            return await self.call("auroraview.subscribe", params, timeout=timeout)
        except BaseException:
            self._topic_handlers.pop(topic, None)
            raise

    async def unsubscribe(self, topic: str, *, timeout: float | None = None) -> None:
        """Unsubscribe from ``topic``: nothing of it arrives after this returns."""
        await self.call("auroraview.unsubscribe", {"topic": topic}, timeout=timeout)
        self._topic_handlers.pop(topic, None)

    async def publish(self, topic: str, data: Any, *, timeout: float | None = None) -> dict[str, Any]:
        """Publish ``data`` on ``topic`` as a client (``auroraview.publish``): ``{epoch,
        offset}``, or `InvokeError` (``forbidden``, ``unknown_topic``, ``invalid_params``)."""
        return await self.call("auroraview.publish", {"topic": topic, "data": data}, timeout=timeout)

    def publications(self, topic: str | None = None) -> list[ReceivedPublication]:
        """The publications received so far (of ``topic``, if given), in order."""
        self._drain_frames()
        return [p for p in self._publications if topic is None or p.topic == topic]

    async def wait_for_publication(self, topic: str, offset: int, *, timeout: float = 5.0) -> ReceivedPublication:
        """The publication of ``topic`` at ``offset``: one received already, or when it
        arrives."""
        for p in self.publications(topic):
            if p.offset == offset:
                return p
        loop, _ = self._require_open()
        fut: asyncio.Future[ReceivedPublication] = loop.create_future()
        waiter = (topic, offset, fut)
        self._publication_waiters.append(waiter)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            if waiter in self._publication_waiters:
                self._publication_waiters.remove(waiter)

    def _on_publication(self, msg: dict[str, Any]) -> None:
        p = ReceivedPublication(msg["topic"], msg["epoch"], msg["offset"], msg["data"])
        self._publications.append(p)
        handler = self._topic_handlers.get(p.topic)
        if handler is not None:
            try:
                handler(p.data)
            except Exception:
                log.exception("topic %r: subscriber %r raised", p.topic, handler)
        for waiter in list(self._publication_waiters):
            topic, offset, fut = waiter
            if topic == p.topic and offset == p.offset and not fut.done():
                fut.set_result(p)
                self._publication_waiters.remove(waiter)

    def stats(self) -> dict[str, int]:
        """The app's router counters (drops, rejections, ...)."""
        return self.app.core.stats()

    # -- internals ------------------------------------------------------------------

    def _require_open(self) -> tuple[asyncio.AbstractEventLoop, _core.Connection]:
        if self._loop is None or self._conn is None:
            raise RuntimeError("TestClient is not open: use `async with TestClient(app) as client:`")
        return self._loop, self._conn

    def _drain_frames(self) -> None:
        """Handle every frame received so far, however many."""
        while self._on_frames(reschedule=False) == _BATCH:
            pass

    def _on_frames(self, reschedule: bool = True) -> int:
        if self._conn is None:
            return 0
        frames = self._conn.take(_BATCH)
        if reschedule and len(frames) == _BATCH and self._loop is not None:
            self._loop.call_soon(self._on_frames)
        for frame in frames:
            blobs = None
            if frame[:1] == _FRAME_TAG:
                frame, blobs = _core.decode_frame(frame)
            msg = from_json(frame)
            if msg["type"] == "item":
                reader = self._items.get(msg["id"])
                if reader is not None:
                    reader(msg["seq"], msg["item"])
            elif msg["type"] == "call_result":
                call_id = msg["id"]
                reader = self._items.pop(call_id, None)
                if reader is not None and call_id not in self._pending:
                    reader(None, msg)  # a stream's end
                    continue
                raw = self._raw.pop(call_id, None)
                if raw is not None:
                    if not raw.done():
                        raw.set_result(frame.decode())
                    continue
                fut = self._pending.pop(call_id, None)
                if fut is None or fut.done():
                    continue
                if not msg["ok"]:
                    fut.set_exception(InvokeError.from_wire(msg["error"]))
                elif blobs is None:
                    fut.set_result(msg.get("result"))
                else:
                    try:
                        fut.set_result(_binary.put_back(msg.get("result"), blobs))
                    except _binary.AttachmentError as exc:
                        fut.set_exception(InvokeError.framework("internal", f"the reply's attachments do not match it: {exc}"))
            elif msg["type"] == "publication":
                self._on_publication(msg)
            elif msg["type"] == "event":
                event = ReceivedEvent(msg["event"], msg["payload"])
                self._events.append(event)
                for waiter in list(self._event_waiters):
                    want, fut = waiter
                    if (want is None or want == event.name) and not fut.done():
                        fut.set_result(event)
                        self._event_waiters.remove(waiter)
        if self._acks:  # channel items handled in this batch: one ack per call
            acks, self._acks = self._acks, {}
            for call_id, seq in acks.items():
                if call_id in self._items:
                    self._conn.send(to_json({"type": "ack", "id": call_id, "seq": seq}))
        return len(frames)
