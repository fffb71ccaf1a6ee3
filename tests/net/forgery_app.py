"""The app tests/net/forgery.test.mjs serves (RELIABILITY.md case 28 over the network).

    auroraview serve tests/net/forgery_app.py:commands --assets tests/net/forgery_page --port 0 --json

The page (forgery_page/) starts calls to ``slow``, which wait until ``release``; meanwhile it
tries to settle them or to fake host events, and the test checks that only the real replies
and events arrived.
"""

from __future__ import annotations

import asyncio
from typing import Any

from auroraview import Commands

commands = Commands()
_released = asyncio.Event()
_started: list[str] = []


@commands.command()
async def slow(tag: str) -> dict[str, str]:
    """Wait until `release`, then answer with the tag."""
    _started.append(tag)
    await _released.wait()
    return {"real": tag}


@commands.command()
async def release() -> None:
    """Let every `slow` call (in flight or to come) finish."""
    _released.set()


@commands.command()
async def started() -> list[str]:
    """The tags of the `slow` calls that reached the handler, in order."""
    return list(_started)


@commands.command()
def emit_tick(n: int) -> None:
    """A real host event: `tick` with `{"n": n}` to every connection."""
    commands.emit("tick", {"n": n})


@commands.command()
def echo(value: Any = None) -> Any:
    """Return what was sent (what a socket of the page's own uses to get a trusted frame
    holding whatever it likes)."""
    return value
