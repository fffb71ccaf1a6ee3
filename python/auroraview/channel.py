"""`Channel[T]`: how a running command pushes typed items to its caller (docs/streams.md).

A command asks for one with a parameter annotated ``Channel[T]`` (any name). That parameter
is not part of the command's params; the runtime passes one per call. Stream commands
(generators) use the same machinery without a visible channel: each ``yield`` is a send.

Backpressure is credit-based: the host sends at most `STREAM_WINDOW` items beyond the last
one the caller acknowledged having consumed; at the window, sending waits.
"""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from . import _core

__all__ = ["STREAM_WINDOW", "STREAM_WINDOW_BYTES", "Channel", "ChannelClosed"]

#: Items of one stream or channel the host sends beyond the last one its caller acknowledged
#: ... and the bytes: the window closes at whichever comes first (one item may exceed it).
#: A caller that stops reading holds the producer, never memory: at most this much is in
#: flight per stream. Measured in a real window (50,000 small items from a sync generator,
#: three runs each): a window of 256 items streamed 52,000-56,000 items/s, 1,024 items
#: 101,000-113,000/s, 4,096 items 131,000-140,000/s. Each ack crosses WebKit's IPC and two
#: threads, so the window must cover that round trip; the byte bound keeps large items from
#: multiplying what is held.
STREAM_WINDOW = 4096
STREAM_WINDOW_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


class ChannelClosed(Exception):
    """The call a channel belongs to has ended (answered, cancelled, timed out, or its
    caller is gone): nothing more can be sent through it."""


class _Credit:
    """Items sent and acknowledged for one stream or channel call.

    Acks and closing happen on the loop's thread; async senders wait there too (on a future
    that an ack resolves); sync senders wait on a condition from worker threads. `_lock`
    also keeps numbering and sending in one order for senders on several threads."""

    __slots__ = ("_cond", "_ends", "_lock", "_loop", "_waiter", "acked", "closed", "in_flight_bytes", "max_bytes", "sent", "window")

    def __init__(self, loop: asyncio.AbstractEventLoop, window: int = STREAM_WINDOW, max_bytes: int = STREAM_WINDOW_BYTES) -> None:
        self.window = window
        self.max_bytes = max_bytes
        self.sent = 0
        self.acked = 0
        self.in_flight_bytes = 0
        #: The size of each item sent and not yet acknowledged, oldest first.
        self._ends: collections.deque[int] = collections.deque()
        self.closed = False
        self._loop = loop
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiter: asyncio.Future[None] | None = None

    def full(self) -> bool:
        return self.sent - self.acked >= self.window or self.in_flight_bytes >= self.max_bytes

    def ack(self, seq: int) -> None:
        """The caller consumed items up to ``seq`` (an ack beyond what was sent counts as
        up to what was sent)."""
        with self._lock:
            if seq <= self.acked:
                return
            seq = min(seq, self.sent)
            for _ in range(seq - self.acked):
                self.in_flight_bytes -= self._ends.popleft()
            self.acked = seq
            self._cond.notify_all()
        self._wake()

    def close(self) -> None:
        """The call ended: wake every sender (they stop)."""
        with self._lock:
            self.closed = True
            self._cond.notify_all()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_async(self) -> None:
        """Wait (on the loop) until an item may be sent or the call ended."""
        while self.full() and not self.closed:
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def send_blocking(self, core: _core.Core, key: int, payload: bytes) -> bool:
        """`send` from a worker thread, first waiting there for credit (in one hold of the
        lock, so senders on several threads never exceed the window together)."""
        with self._lock:
            while self.full() and not self.closed:
                self._cond.wait()
            return self._send_locked(core, key, payload)

    def send(self, core: _core.Core, key: int, payload: bytes) -> bool:
        """Number and send one item (callers waited for credit first). False: the call has
        ended (or this item ended it), nothing more may be sent."""
        with self._lock:
            return self._send_locked(core, key, payload)

    def _send_locked(self, core: _core.Core, key: int, payload: bytes) -> bool:
        if self.closed:
            return False
        self.sent += 1
        self._ends.append(len(payload))
        self.in_flight_bytes += len(payload)
        if core.item(key, self.sent, payload):
            return True
        self.closed = True
        return False


class Channel(Generic[T]):
    """Pushes items of type ``T`` to the caller of the command it was passed to, in order,
    before the command's result.

    In an ``async def`` handler: ``await channel.send(item)``. In a sync handler (it runs on a
    worker thread): ``channel.send_blocking(item)``. Both wait while the caller has
    `STREAM_WINDOW` items (or `STREAM_WINDOW_BYTES`) not yet consumed, and raise `ChannelClosed` once the call has ended
    (the caller cancelled it or went away, or it timed out).
    """

    __slots__ = ("_core", "_credit", "_dump", "_key", "_loop_thread")

    def __init__(self, core: _core.Core, key: int, dump: Callable[[Any], bytes], credit: _Credit, loop_thread: int) -> None:
        self._core = core
        self._key = key
        self._dump = dump
        self._credit = credit
        self._loop_thread = loop_thread

    @property
    def closed(self) -> bool:
        """The call has ended: `send` would raise `ChannelClosed`."""
        return self._credit.closed

    async def send(self, item: T) -> None:
        """Send ``item`` (checked against ``T`` as a result is), waiting for credit."""
        if threading.get_ident() != self._loop_thread:
            raise RuntimeError("Channel.send is for async handlers (on the app's loop); a sync handler uses send_blocking")
        payload = self._dump(item)
        credit = self._credit
        if credit.full() and not credit.closed:
            await credit.wait_async()
        if not credit.send(self._core, self._key, payload):
            raise ChannelClosed("the call ended: its caller cancelled it or went away, or it timed out")

    def send_blocking(self, item: T) -> None:
        """Send ``item`` from a sync handler's thread, blocking while the window is full."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                "Channel.send_blocking would block the app's loop (which delivers the acknowledgements it waits "
                "for); in an async handler use `await channel.send(item)`"
            )
        if not self._credit.send_blocking(self._core, self._key, self._dump(item)):
            raise ChannelClosed("the call ended: its caller cancelled it or went away, or it timed out")

    def __repr__(self) -> str:
        c = self._credit
        return f"<Channel sent={c.sent} acked={c.acked}{' closed' if c.closed else ''}>"
