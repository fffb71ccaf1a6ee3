"""`CallContext`: what a handler may know about the call it is answering.

A command asks for it with a parameter annotated `CallContext` (any name). That parameter is
not part of the command's params: not validated, not in its JSON Schema, not in the
generated TypeScript. The runtime passes one per call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .commands import Transport

__all__ = ["CallContext"]


class CallContext:
    """The call a handler is answering: who made it, by when it must be answered, and
    whether it was cancelled.

    - ``method``: the command's name as called.
    - ``conn``: the router connection the call came through; ``transport`` (``"window"``,
      ``"network"``, ``"child"`` or ``"in_process"``), ``window`` (the window's label, for a
      page or a `TestClient` standing in for one), ``origin`` (the page's origin, or the
      network client's ``Origin`` header) and ``peer`` (a child process's id) say who that is.
      They are read when the call starts.
    - ``deadline``: the `time.monotonic` instant at which the command's ``timeout=`` answers
      the call ``timeout`` (None: the command has no timeout); ``remaining`` is what is left.
    - ``cancelled``: the call was cancelled: by its caller (``cancel``, an `AbortSignal`), its
      timeout, its connection closing (window closed, page reloaded, client gone) or the app
      shutting down. An async handler also gets `asyncio.CancelledError`; a sync handler,
      which Python cannot interrupt, should poll ``cancelled`` (or ``wait_cancelled``) and
      return early: its result is dropped anyway.
    - ``headers``: the request's headers when the call came through the custom protocol;
      None for every transport today (calls travel as messages, which have none).
    """

    __slots__ = ("_cancelled", "conn", "deadline", "headers", "method", "origin", "peer", "transport", "window")

    def __init__(
        self,
        *,
        method: str,
        conn: int,
        transport: Transport,
        window: str | None = None,
        origin: str | None = None,
        peer: str | None = None,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.method = method
        self.conn = conn
        self.transport: Transport = transport
        self.window = window
        self.origin = origin
        self.peer = peer
        self.deadline = deadline
        self.headers = headers
        self._cancelled = threading.Event()

    @classmethod
    def _for(cls, method: str, conn: int, info: dict[str, Any], timeout: float | None) -> CallContext:
        return cls(
            method=method,
            conn=conn,
            transport=info["transport"],
            window=info.get("window"),
            origin=info.get("origin"),
            peer=info.get("peer"),
            deadline=None if timeout is None else time.monotonic() + timeout,
        )

    @property
    def remaining(self) -> float | None:
        """Seconds left before the deadline (0 once passed); None without a timeout."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.monotonic())

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Block (a sync handler's thread) until the call is cancelled, or ``timeout``
        seconds; True when it was cancelled."""
        return self._cancelled.wait(timeout)

    def _cancel(self) -> None:
        self._cancelled.set()

    def __repr__(self) -> str:
        who = self.window or self.peer or self.origin or ""
        return f"<CallContext {self.method!r} conn={self.conn} {self.transport}{' ' + who if who else ''}>"
