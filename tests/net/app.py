"""The app every network test serves (Node, Chromium, Python client, CLI, bench).

    auroraview serve tests/net/app.py:commands --port 0 --json

Handlers count their invocations (``api.invocations``) so that every bad-input test can
check that nothing reached a handler. Streams (``api.count``, ``api.forever``,
``api.fails_after``) and a channel (``api.export``) are there for docs/streams.md over the
network; ``api.forever``'s ``finally`` is counted (``api.finally_count``) so a test can see
that a cancelled stream's generator was closed on the server. ``api.sha256``,
``api.bytes_echo`` and ``api.make_bytes`` take and return raw bytes (docs/binary.md).
Topic ``notes`` (docs/topics.md) is open to any client, to subscribe and to publish.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field

from auroraview import Channel, Commands, InvokeException

commands = Commands()
_invocations = {"count": 0}
_finally = {"api.forever": 0}


class Sum(BaseModel):
    """What `api.add` returns."""

    total: int


class Progress(BaseModel):
    """What `api.export` sends through its channel."""

    done: int
    total: int


class MadeBytes(BaseModel):
    """What `api.make_bytes` returns: random bytes and their SHA-256."""

    data: bytes
    sha256: str


class NotFound(InvokeException):
    """A declared error with data."""

    code = "not_found"


class Note(BaseModel):
    """What topic `notes` carries."""

    text: str
    n: int = 0


notes = commands.topic("notes", Note, publish=True, history=100, doc="Notes any client may publish and read.")


def _count() -> None:
    _invocations["count"] += 1


@commands.command("api.echo")
async def echo(value: Any = None) -> Any:
    """Return what was sent."""
    _count()
    return value


@commands.command("api.noop")
def noop() -> None:
    """Nothing, as fast as possible (the benchmark's call)."""


@commands.command("api.add")
def add(a: int, b: int = Field(ge=0)) -> Sum:
    """Add two integers (`b` must not be negative: a validation error to show)."""
    _count()
    return Sum(total=a + b)


@commands.command("api.fail", errors=[NotFound])
def fail(what: str = "thing") -> None:
    """Raise a declared error."""
    _count()
    raise NotFound(f"no {what} here", data={"what": what})


@commands.command("api.sleep")
async def sleep(seconds: float = Field(ge=0, le=60)) -> float:
    """Sleep, then return the seconds slept (for timeouts, aborts and disconnects)."""
    _count()
    await asyncio.sleep(seconds)
    return seconds


@commands.command("api.emit")
def emit(event: str, payload: Any = None, count: int = Field(default=1, ge=1, le=100_000)) -> int:
    """Emit `event` `count` times to every connection (payload gets `{"i": n}` merged when it
    is an object); returns how many were sent."""
    _count()
    for i in range(count):
        data = {**payload, "i": i} if isinstance(payload, dict) else payload
        commands.emit(event, data)
    return count


@commands.command("api.count")
async def count(n: int = Field(ge=0, le=10_000_000)) -> AsyncIterator[int]:
    """A stream of the integers 0..n-1, in order."""
    _count()
    for i in range(n):
        yield i


@commands.command("api.forever")
async def forever() -> AsyncIterator[int]:
    """A stream that never ends by itself (0, 1, 2, ...): only a cancel, a timeout or a lost
    connection stops it. Its `finally` is counted (`api.finally_count`)."""
    _count()
    try:
        i = 0
        while True:
            yield i
            i += 1
            await asyncio.sleep(0)
    finally:
        _finally["api.forever"] += 1


@commands.command("api.finally_count")
def finally_count() -> int:
    """How many times `api.forever`'s generator was closed so far in this process."""
    return _finally["api.forever"]


@commands.command("api.fails_after", errors=[NotFound])
async def fails_after(n: int = Field(ge=0, le=100_000)) -> AsyncIterator[int]:
    """A stream of 0..n-1 that then raises the declared `NotFound` (with data)."""
    _count()
    for i in range(n):
        yield i
    raise NotFound(f"no item {n} here", data={"after": n})


@commands.command("api.export")
async def export(path: str, progress: Channel[Progress], total: int = Field(default=3, ge=0, le=100_000)) -> str:
    """A channel: sends `Progress(done, total)` for done = 1..total, then returns `path`."""
    _count()
    for done in range(1, total + 1):
        await progress.send(Progress(done=done, total=total))
    return path


@commands.command("api.sha256")
def sha256(data: bytes) -> str:
    _count()
    return hashlib.sha256(data).hexdigest()


@commands.command("api.bytes_echo")
async def bytes_echo(data: bytes) -> bytes:
    _count()
    return data


@commands.command("api.make_bytes")
def make_bytes(n: int = Field(ge=0, le=200 * 1024 * 1024)) -> MadeBytes:
    _count()
    data = os.urandom(n)
    return MadeBytes(data=data, sha256=hashlib.sha256(data).hexdigest())


@commands.command("api.invocations")
def invocations() -> int:
    """How many counting handlers ran so far in this process."""
    return _invocations["count"]


@commands.command("api.whoami")
def whoami() -> str:
    """A command for access-rule tests."""
    _count()
    return "ok"


@commands.on("client_event")
def client_event(detail: Any) -> None:
    """Events from clients are echoed back to everyone as `client_event_seen`."""
    _count()
    commands.emit("client_event_seen", detail)
