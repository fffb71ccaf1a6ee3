"""Child processes of an app, both sides of the "Child processes" section of docs/network.md.

The parent's `ChildManager` (``app.children``) spawns programs, gives each its own token in
its environment, messages them, watches them exit, and revokes the token of one that is
gone. The child's `ChildContext` reads that environment, connects back over the network
transport (`auroraview.client`) on loopback, and messages its parent:

    # parent
    child = app.children.spawn("worker-1", [sys.executable, "worker.py"])
    app.children.send_to_child("worker-1", "parent:command", {"action": "refresh"})

    # child (worker.py)
    with ChildContext() as ctx:
        @ctx.on_parent_message
        def handle(event: str, data: Any) -> None: ...
        ctx.emit_to_parent("status_update", {"progress": 50})
        ctx.wait_closed()                      # until the parent goes away

This module owns the environment contract (the three ``AURORAVIEW_*`` variables), child
ids, process lifetime (spawn, watch, terminate) and the routing of messages by child id;
authentication and delivery are the server's.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import secrets
import subprocess
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from pydantic_core import from_json

from ._core import AuroraViewError
from .client import Client, _connect, _EventThread, _run_handler, describe_close

if TYPE_CHECKING:
    from .app import App

__all__ = [
    "ENV_CHILD_ID",
    "ENV_PARENT_TOKEN",
    "ENV_PARENT_URL",
    "Child",
    "ChildContext",
    "ChildManager",
    "NotAChildError",
]

log = logging.getLogger("auroraview.children")

#: The parent's WebSocket endpoint, the child's own token, and its id.
ENV_PARENT_URL = "AURORAVIEW_PARENT_URL"
ENV_PARENT_TOKEN = "AURORAVIEW_PARENT_TOKEN"
ENV_CHILD_ID = "AURORAVIEW_CHILD_ID"

_CHILD_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

#: Messages from the parent kept for the first ``on_parent_message`` handler (as an app
#: holds events for a page that has not connected yet).
_BACKLOG = 10_000

#: ``handler(child_id, event, data)``: an event a child sent.
ChildMessageHandler = Callable[[str, str, Any], object]
#: ``callback(child_id, returncode)``: a child exited (negative: killed by that signal).
ChildExitHandler = Callable[[str, int], object]
#: ``handler(event, data)``: an event the parent sent to this child.
ParentMessageHandler = Callable[[str, Any], object]


class NotAChildError(AuroraViewError):
    """`ChildContext.call` in a process that no AuroraView parent started."""


# -- parent side ------------------------------------------------------------------------


class _Server(Protocol):
    """What the manager needs of ``app.serve(...)``'s server."""

    @property
    def ws_url(self) -> str: ...
    def add_token(self, token: str, *, transport: Literal["child"] = "child", peer: str) -> None: ...
    def revoke_token(self, token: str) -> object: ...
    def close(self) -> None: ...


class Child:
    """A child process started by `ChildManager.spawn`."""

    def __init__(
        self, manager: ChildManager, child_id: str, argv: tuple[str, ...], process: subprocess.Popen[bytes]
    ) -> None:
        self.id = child_id
        self.argv = argv
        self.process = process
        self._manager = manager
        self._token = ""  # set by spawn; the child's credential, revoked when it exits
        self._done = threading.Event()  # set once the manager has handled its exit
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """Its exit status once it has exited (negative: killed by that signal), else None."""
        return self.process.returncode if self._done.is_set() else None

    @property
    def running(self) -> bool:
        """True until the manager has handled its exit (token revoked, callbacks run)."""
        return not self._done.is_set()

    def wait(self, timeout: float | None = None) -> int | None:
        """Block until it has exited and the manager has handled it (token revoked,
        ``on_child_exit`` callbacks run); its return code, or None after ``timeout``."""
        if self._watcher is not threading.current_thread() and not self._done.wait(timeout):
            return None
        return self.process.returncode

    def is_connected(self) -> bool:
        """Whether it has a connection to the app open now."""
        return any(
            info.get("transport") == "child" and info.get("peer") == self.id
            for info in self._manager._app.connections()
        )

    def send(self, event: str, data: Any = None) -> int:
        """`ChildManager.send_to_child` for this child."""
        return self._manager.send_to_child(self.id, event, data)

    def terminate(self, timeout: float = 5.0) -> int | None:
        """`ChildManager.terminate` for this child."""
        return self._manager.terminate(self.id, timeout)

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.process.returncode}"
        return f"<Child {self.id!r} pid={self.pid} {state}>"


# Managers still open when the interpreter exits terminate their children then.
_open_managers: weakref.WeakSet[ChildManager] = weakref.WeakSet()


@atexit.register
def _close_open_managers() -> None:  # pragma: no cover - runs at interpreter exit
    for manager in list(_open_managers):
        manager.close()


class ChildManager:
    """The parent's side: spawn child programs that connect back to ``app`` on loopback,
    message them, and learn when they exit.

    ``server``: the server children connect to; by default the manager starts its own on
    first spawn (``app.serve(host="127.0.0.1", port=0)``, loopback, closed by ``close()``).
    Each child gets its own token; its connection has transport ``child`` and peer = its id.

    Threads: ``on_child_message`` handlers run one at a time, in arrival order, on the
    manager's message thread; ``on_child_exit`` callbacks on the exited child's watcher
    thread. Either may call back into the manager (``terminate`` from an exit callback
    does not wait for itself). Children still running when the interpreter exits are
    terminated (``close()``).
    """

    def __init__(self, app: App, *, server: _Server | None = None) -> None:
        self._app = app
        self._server = server
        self._owns_server = False
        self._lock = threading.RLock()
        self._children: dict[str, Child] = {}
        self._message_handlers: list[ChildMessageHandler] = []
        self._exit_handlers: list[ChildExitHandler] = []
        self._messages: _EventThread | None = None
        self._closed = False
        # The app tells the manager about events from its connections: see _on_client_event.
        add_tap = getattr(app, "_add_event_tap", None)
        if callable(add_tap):
            add_tap(self._on_client_event)
        _open_managers.add(self)

    @property
    def server(self) -> _Server:
        """The server children connect to (started on first use when not given)."""
        with self._lock:
            if self._server is None:
                if self._closed:
                    raise RuntimeError("this ChildManager is closed")
                serve = cast("Callable[..., _Server] | None", getattr(self._app, "serve", None))
                if serve is None:
                    raise RuntimeError("this App cannot serve the network transport (no App.serve)")
                # Loopback only, and only the commands whose rules allow children (no rules:
                # allowed) — the server is the children's, not the network's.
                self._server = serve(host="127.0.0.1", port=0, expose="declared")
                self._owns_server = True
            return self._server

    # -- processes ---------------------------------------------------------------------

    def spawn(
        self,
        child_id: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Child:
        """Start ``argv`` (no shell) as child ``child_id`` (``[A-Za-z0-9_.-]{1,64}``, unique
        among running children). Its environment is ``env`` (default: this process's) plus
        ``AURORAVIEW_PARENT_URL``, ``AURORAVIEW_PARENT_TOKEN`` and ``AURORAVIEW_CHILD_ID``;
        its token is passed there only (never on its command line, which other users can
        read). stdout and stderr are this process's; stdin is /dev/null."""
        if not isinstance(child_id, str) or not _CHILD_ID.fullmatch(child_id):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"a child id is 1-64 characters of A-Z, a-z, 0-9, '_', '.' and '-'; got {child_id!r}")
        if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"argv is a non-empty list of strings (no shell), got {argv!r}")
        with self._lock:
            if self._closed:
                raise RuntimeError("this ChildManager is closed")
            if child_id in self._children:
                raise ValueError(f"a child {child_id!r} is already running")
            server = self.server
            token = secrets.token_urlsafe(32)
            child_env = dict(os.environ if env is None else env)
            child_env.update({ENV_PARENT_URL: server.ws_url, ENV_PARENT_TOKEN: token, ENV_CHILD_ID: child_id})
            server.add_token(token, transport="child", peer=child_id)
            try:
                process = subprocess.Popen(list(argv), env=child_env, cwd=cwd, stdin=subprocess.DEVNULL)
            except BaseException:
                server.revoke_token(token)
                raise
            child = Child(self, child_id, tuple(argv), process)
            child._token = token
            self._children[child_id] = child
            # One thread per child blocked in waitpid: an exit, even kill -9, is seen at once.
            watcher = threading.Thread(
                target=self._watch, args=(child,), name=f"auroraview-child-{child_id}", daemon=True
            )
            child._watcher = watcher
            watcher.start()
        log.info("spawned child %r (pid %d): %s", child_id, process.pid, " ".join(argv))
        return child

    def _watch(self, child: Child) -> None:
        returncode = child.process.wait()
        with self._lock:
            if self._children.get(child.id) is child:
                del self._children[child.id]
            server = self._server
        try:
            if server is not None:
                server.revoke_token(child._token)  # closes its connection with 4003 if still open
        except Exception:
            log.exception("could not revoke the token of child %r", child.id)
        log.info("child %r (pid %d) exited with %d", child.id, child.pid, returncode)
        with self._lock:
            callbacks = list(self._exit_handlers)
        for callback in callbacks:
            _run_handler(callback, f"child {child.id} exit", child.id, returncode)
        child._done.set()

    def children(self) -> list[Child]:
        """The running children, in spawn order."""
        with self._lock:
            return list(self._children.values())

    def get(self, child_id: str) -> Child | None:
        """The running child ``child_id``, or None."""
        with self._lock:
            return self._children.get(child_id)

    def terminate(self, child_id: str, timeout: float = 5.0) -> int | None:
        """Stop child ``child_id``: SIGTERM, then SIGKILL after ``timeout`` seconds. Returns
        once its exit is handled (token revoked, ``on_child_exit`` run): its return code,
        or None when no child of that id is running."""
        child = self.get(child_id)
        if child is None:
            return None
        self._stop([child], timeout)
        return child.wait()

    def _stop(self, children: list[Child], timeout: float) -> None:
        for child in children:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):  # exited between poll and terminate
                    child.process.terminate()
        for child in children:
            try:
                child.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("child %r ignored SIGTERM for %g s: killing it", child.id, timeout)
                child.process.kill()
                child.process.wait()
        for child in children:
            child.wait()

    # -- messages ----------------------------------------------------------------------

    def send_to_child(self, child_id: str, event: str, data: Any = None) -> int:
        """Send ``event`` to child ``child_id`` (its ``on_parent_message`` handlers); how many
        connections got it (0: held until the child connects). KeyError when no child of
        that id is running — an event for a child that is gone must not wait for the next
        child given the same id."""
        if self.get(child_id) is None:
            raise KeyError(f"no child {child_id!r} is running")
        target: Any = ("child", child_id)
        return self._app.emit(event, data, to=target)

    def broadcast(self, event: str, data: Any = None) -> int:
        """Send ``event`` to every connected child; how many got it."""
        target: Any = ("transport", "child")
        return self._app.emit(event, data, to=target)

    def on_child_message(self, handler: ChildMessageHandler) -> ChildMessageHandler:
        """Run ``handler(child_id, event, data)`` for every event a child sends (as well as
        the app's own ``commands.on(event)`` handlers). Usable as a decorator."""
        with self._lock:
            self._message_handlers.append(handler)
        return handler

    def on_child_exit(self, callback: ChildExitHandler) -> ChildExitHandler:
        """Run ``callback(child_id, returncode)`` when a child exits or dies (a negative
        code: the signal that killed it), after its token is revoked. Usable as a decorator."""
        with self._lock:
            self._exit_handlers.append(callback)
        return callback

    def _on_client_event(self, conn: int, child_id: str | None, event: str, detail: bytes) -> None:
        """The app's hook: an event from connection ``conn``; ``child_id`` is the sender's
        child id as of that event (the core reads it on arrival: a child that emits and exits
        is still known), None when no child sent it. Called on the app's loop, in arrival
        order; returns at once (the handlers run on the manager's message thread)."""
        if child_id is None:
            return
        with self._lock:
            if not self._message_handlers or self._closed:
                return
            if self._messages is None:
                self._messages = _EventThread()
            messages = self._messages
        messages.post(lambda: self._deliver(child_id, event, detail))

    def _deliver(self, child_id: str, event: str, detail: bytes) -> None:
        try:
            data = from_json(detail) if detail else None
        except ValueError:
            log.warning("event %r from child %r: detail is not JSON", event, child_id)
            return
        with self._lock:
            handlers = list(self._message_handlers)
        for handler in handlers:
            _run_handler(handler, event, child_id, event, data)

    # -- end ---------------------------------------------------------------------------

    def close(self, timeout: float = 5.0) -> None:
        """Terminate every child (SIGTERM, SIGKILL after ``timeout``), wait for their exits to
        be handled, and close the server if the manager started it. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            children = list(self._children.values())
        self._stop(children, timeout)
        with self._lock:
            server, owned = self._server, self._owns_server
            messages, self._messages = self._messages, None
        if server is not None and owned:
            server.close()
        if messages is not None:
            messages.stop()
        _open_managers.discard(self)

    def __enter__(self) -> ChildManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- child side -------------------------------------------------------------------------

_env_lock = threading.Lock()
_env_read = False
_env: tuple[str, str, str] | None = None


def _parent_env() -> tuple[str, str, str] | None:
    """(url, token, child id) from the environment, read once per process; the token is
    removed from ``os.environ`` then, so programs this child starts do not inherit it."""
    global _env_read, _env
    with _env_lock:
        if not _env_read:
            token = os.environ.pop(ENV_PARENT_TOKEN, None)
            url, child_id = os.environ.get(ENV_PARENT_URL), os.environ.get(ENV_CHILD_ID)
            _env_read = True
            if token is not None:
                if not url or not child_id:
                    raise RuntimeError(
                        f"{ENV_PARENT_TOKEN} is set but {ENV_PARENT_URL} or {ENV_CHILD_ID} is not: "
                        "this process was not started by ChildManager.spawn"
                    )
                _env = (url, token, child_id)
        return _env


class ChildContext:
    """The child's side: the connection to the parent that spawned this process.

    In a process no parent started (no ``AURORAVIEW_PARENT_TOKEN``) ``is_child`` is False
    and the context is inert, so a worker script also runs on its own: emits are dropped,
    handlers are kept but never called, ``wait_closed`` returns at once; only ``call``,
    which has no result to give, raises `NotAChildError`.

    The connection opens here (a `ConnectError` if the parent is gone). Messages from the
    parent that arrive before the first ``on_parent_message`` handler is registered are
    kept for it (up to 10,000), so a message sent right after spawn is not lost. Handlers
    and ``on_parent_exit`` callbacks run one at a time, in order, on the client's event
    thread; they may call ``call`` and ``emit_to_parent``. The credentials are read once
    per process: several contexts in one child each open a connection with them.
    """

    def __init__(self, *, timeout: float = 10.0, heartbeat: float | None = None) -> None:
        env = _parent_env()
        self._lock = threading.Lock()
        self._handlers: list[ParentMessageHandler] = []
        self._exit_callbacks: list[Callable[[], object]] = []
        self._buffering = True
        self._backlog: list[tuple[str, Any]] = []
        self._parent_gone = False
        self._client: Client | None = None
        self.child_id: str | None = None
        if env is None:
            return
        url, token, self.child_id = env
        self._client = _connect(
            url,
            token,
            timeout=timeout,
            heartbeat=heartbeat,
            on_disconnect=self._on_disconnect,
            setup=lambda client: client.on_any(self._from_parent),
        )

    @property
    def is_child(self) -> bool:
        """Whether an AuroraView parent started this process."""
        return self.child_id is not None

    @property
    def client(self) -> Client | None:
        """The connection to the parent (None when not a child)."""
        return self._client

    @property
    def connected(self) -> bool:
        """Whether the connection to the parent is open."""
        return self._client is not None and not self._client.closed

    # -- to the parent -------------------------------------------------------------------

    def emit_to_parent(self, event: str, data: Any = None) -> None:
        """Send ``event`` to the parent (its ``on_child_message`` handlers and its app's
        ``commands.on(event)`` handlers). Not a child: dropped. Parent gone: `InvokeError`
        ``disconnected``."""
        if self._client is None:
            log.debug("not a child: event %r dropped", event)
            return
        self._client.send_event(event, data)

    def call(self, method: str, params: Any = None, *, timeout: float | None = None) -> Any:
        """Call the parent app's command ``method``; its result, or `InvokeError`."""
        if self._client is None:
            raise NotAChildError(f"cannot call {method!r}: this process was not started by an AuroraView parent")
        return self._client.call(method, params, timeout=timeout)

    # -- from the parent -----------------------------------------------------------------

    def on_parent_message(self, handler: ParentMessageHandler) -> ParentMessageHandler:
        """Run ``handler(event, data)`` for every event the parent sends to this child (or to
        all children). Usable as a decorator."""
        with self._lock:
            self._handlers.append(handler)
            first = self._buffering and len(self._handlers) == 1
        if first and self._client is not None:
            # Flushed on the event thread, so the kept messages come before newer ones.
            self._client._post(self._flush)
        return handler

    def on_parent_exit(self, callback: Callable[[], object]) -> Callable[[], object]:
        """Run ``callback()`` once when the parent goes away: the connection closed (the
        parent exited or revoked this child) or the parent fell silent past the heartbeat.
        Not after ``close()``. Registered after the parent went: run soon. A decorator too."""
        with self._lock:
            gone = self._parent_gone
            if not gone:
                self._exit_callbacks.append(callback)
        if gone and self._client is not None:
            self._client._post(callback)
        return callback

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the connection to the parent has ended (True) or ``timeout`` (False).
        Not a child: True at once."""
        return True if self._client is None else self._client.wait_closed(timeout)

    def _from_parent(self, event: str, data: Any) -> None:
        with self._lock:
            if self._buffering:
                if len(self._backlog) == _BACKLOG:
                    del self._backlog[0]
                    log.warning("no on_parent_message handler yet: dropped the oldest kept message")
                self._backlog.append((event, data))
                return
            handlers = list(self._handlers)
        for handler in handlers:
            _run_handler(handler, event, event, data)

    def _flush(self) -> None:
        with self._lock:
            backlog, self._backlog, self._buffering = self._backlog, [], False
            handlers = list(self._handlers)
        for event, data in backlog:
            for handler in handlers:
                _run_handler(handler, event, event, data)

    def _on_disconnect(self, code: int, reason: str) -> None:
        log.info("child %r: the parent went away (%s)", self.child_id, describe_close(code, reason))
        with self._lock:
            self._parent_gone = True
            callbacks, self._exit_callbacks = self._exit_callbacks, []
        for callback in callbacks:
            _run_handler(callback, "<parent exit>")

    # -- end ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection to the parent (``on_parent_exit`` is not called). Idempotent."""
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> ChildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self.is_child:
            return "<ChildContext (not a child)>"
        return f"<ChildContext {self.child_id!r} {'connected' if self.connected else 'disconnected'}>"
