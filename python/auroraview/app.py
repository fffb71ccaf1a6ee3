"""`App`: one registry served by one router and one asyncio runtime, joined by every transport.

An app owns the Rust core (the router every window, in-process client and, later, server
of the app connects to, each connection carrying its identity) and the asyncio runtime that
runs the registry's handlers. A registry has exactly one app: ``App(commands, ...)`` makes it
explicitly with its settings; otherwise ``commands.app`` makes one with defaults the first
time a window, a client or ``emit`` needs it.

The runtime runs on one loop at a time: the loop of whoever attaches first (``await
view.run_async()``, ``TestClient``), or the app's own background thread for
``show(block=False)``. A transport attaching from another thread or loop is served from the
runtime's loop. When the last transport detaches, the runtime stops (handlers cancelled,
worker pools released) and the router stays: events emitted meanwhile are held for the next
connection (see `emit`), and a later attach starts the runtime again, on whichever loop
attaches. `close()` ends the app for good: calls in flight are answered ``shutting_down``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, Union

from . import _core
from ._runtime import TOPIC_HANDLERS, EventTap, Runtime
from ._topics import Topics, builtin_commands
from .commands import Command, Commands, EventHandler
from .mainthread import (
    CallableExecutor,
    MainLane,
    MainThreadExecutor,
    MainThreadUnavailable,
    PumpExecutor,
    QtExecutor,
    in_main_thread_job,
)
from .topics import Topic

if TYPE_CHECKING:
    import os

    from .children import ChildManager
    from .server import Server
    from .webview import WebView

__all__ = ["App", "EventTarget", "MainThread"]

log = logging.getLogger("auroraview")
T = TypeVar("T")
P = ParamSpec("P")

#: Where an event goes: ``None`` (every connection), a connection id, a `WebView` (its
#: page, across reloads), ``("window", label)``, ``("transport", "window" | "in_process" |
#: "network" | "child")``, ``("child", child_id)``.
EventTarget = Union[
    None, int, "WebView", tuple[Literal["window", "transport", "child"], str], tuple[Literal["conn"], int]
]

#: What runs main-thread handlers (docs/dcc.md): an executor (`QtExecutor`, `PumpExecutor`,
#: `CallableExecutor`, or any object with ``submit(job)``), a host's own "run this on the main
#: thread later" function (``maya.utils.executeDeferred``), ``"qt"`` (a `QtExecutor` made
#: now), or None (the default: a `PumpExecutor`, the thread that called ``show()``).
MainThread = MainThreadExecutor | Callable[[Callable[[], None]], object] | Literal["qt"] | None


def _executor(main_thread: MainThread) -> MainThreadExecutor:
    if main_thread is None:
        return PumpExecutor()
    if main_thread == "qt":
        return QtExecutor()
    if isinstance(main_thread, MainThreadExecutor):
        return main_thread
    if callable(main_thread):
        return CallableExecutor(main_thread)
    raise TypeError(
        "main_thread= takes an executor (QtExecutor(), an object with submit(job)), a function that runs a "
        f'job on the main thread later (e.g. maya.utils.executeDeferred), "qt" or None; got {main_thread!r}'
    )


def _start_background(ended: Callable[[asyncio.AbstractEventLoop], None]) -> asyncio.AbstractEventLoop:
    """Start an app's background loop thread (``auroraview-app``) and return its loop. It
    runs until stopped (`App._retire_if_idle`, or a `SystemExit` escaping a callback), then
    ends what is left on it as `asyncio.run` does (tasks cancelled and awaited, async
    generators closed), closes the loop (from then on a late ``call_soon_threadsafe``
    raises instead of waiting forever) and calls ``ended(loop)``."""
    ready = threading.Event()
    holder: list[asyncio.AbstractEventLoop] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        holder.append(loop)
        ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(finish())
            finally:
                loop.close()
                ended(loop)

    async def finish() -> None:
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_asyncgens()

    threading.Thread(target=run, name="auroraview-app", daemon=True).start()
    ready.wait()
    return holder[0]


class App:
    """A registry served: its router, its runtime, and the transports attached to them.

    ``debug`` puts tracebacks in ``internal`` errors; ``sync_workers`` bounds the threads
    running sync handlers; ``spin_us`` lets the loop wait that long for the next call of a
    chain instead of sleeping (see ``_runtime``); ``limits`` lowers or raises the core's
    limits (keys of ``auroraview._core.DEFAULT_LIMITS``). ``shutdown_grace`` is how long
    (seconds) stopping the runtime waits for handlers still running (when the last window
    closes, the last client leaves, ...); sync handlers still running after it are reported
    and abandoned, so the process exits within it whatever they do.

    A handler raising `KeyboardInterrupt` or `SystemExit` stops the app: its call is
    answered, its windows and servers are closed, and the exception is raised again where
    the app's run is owned (``show()``, ``run_async()``, ``wait_closed()``, a
    ``TestClient``'s ``aclose()``); see docs/ARCHITECTURE.md, "Faults in handlers".

    ``main_thread`` says what runs the handlers declared ``thread="main"`` (docs/dcc.md): a
    `QtExecutor` (or ``"qt"``) in a Qt host, the host's own function such as
    ``maya.utils.executeDeferred``, or by default the thread that called ``show()``.
    """

    def __init__(
        self,
        commands: Commands | None = None,
        *,
        debug: bool = False,
        sync_workers: int = 16,
        spin_us: int = 1000,
        limits: dict[str, int] | None = None,
        shutdown_grace: float = 5.0,
        broker: str | None = None,
        broker_prefix: str = "auroraview",
        main_thread: MainThread = None,
    ) -> None:
        self.commands = commands if commands is not None else Commands()
        if self.commands._app is not None:
            raise ValueError("this Commands registry already has an App; use `commands.app`")
        #: What was passed as ``main_thread=`` (a window joining checks its own against it).
        self._main_thread_given: MainThread = main_thread
        self._main_lane = MainLane(_executor(main_thread))
        if sync_workers < 1:
            raise ValueError(f"sync_workers must be >= 1, got {sync_workers}")
        if not 0 <= spin_us <= 10_000:
            raise ValueError(f"spin_us must be between 0 and 10000, got {spin_us}")
        if not 0 <= shutdown_grace <= 3600:
            raise ValueError(f"shutdown_grace must be between 0 and 3600 seconds, got {shutdown_grace}")
        self.shutdown_grace = shutdown_grace
        self.debug = debug
        self.sync_workers = sync_workers
        self.spin_us = spin_us
        self.core = _core.Core(**(limits or {}))
        self._lock = threading.RLock()
        self._methods: list[Command] = []  # index = the method id the core reports
        self._runtime: Runtime | None = None
        self._users = 0
        self._in_loop_users = 0
        self._windows: dict[str, WebView] = {}
        self._background: asyncio.AbstractEventLoop | None = None
        #: Transports about to attach on the app's loop (`_hold_loop`): the background
        #: thread is not retired under them.
        self._home_leases = 0
        #: Detaches still stopping a runtime: nor under them.
        self._stopping = 0
        self._warned_drop = False
        self._closed = False
        self._servers: list[Server] = []
        self._detaching: asyncio.Task[None] | None = None
        self._event_taps: list[EventTap] = []
        self._children: ChildManager | None = None
        self._topics = Topics(self.commands, self.core)
        if broker is not None:
            # Shares the topics with every process linked to the same broker and prefix
            # (docs/topics.md, "Across processes"); the link is made in the background.
            self.core.connect_broker(broker, broker_prefix)
        for cmd in builtin_commands():
            self._register(cmd)
        for cmd in self.commands._watch(self._register):
            self._register(cmd)
        self.commands._app = self

    # -- Python → clients ------------------------------------------------------------

    def emit(self, event: str, payload: Any = None, *, to: EventTarget = None) -> int:
        """Push an event to the connections ``to`` names (default: all), in order; returns
        how many got it. The payload is serialized by pydantic (checked against the declared
        type for declared events).

        Buffering, one rule: an event that no open connection matches is held for the first
        connection it matches (a window's page that has not connected yet or is reloading,
        the first client of a registry) — at most ``max_backlog_events`` of them, the oldest
        dropped past that (counted in ``stats()["held_dropped"]`` and logged once). An event
        for a connection id that is gone is not held (``events_unrouted``)."""
        data = self.commands._event_json(event, payload)
        return self._send(event, data, to if to is None or isinstance(to, (int, tuple)) else self._target(to))

    def _send(self, event: str, data: bytes, target: _core._Target | _core.Target) -> int:
        """Emit serialized ``data`` to a core target (the core checks the name and the
        integers). This is the hot path of every emit: a window receiving events by the
        100,000 gets them in smaller batches, and so far fewer per second, when each emit
        costs a microsecond more."""
        delivered = self.core.emit(event, data, target)
        if not delivered:
            self._unrouted()
        return delivered

    def _unrouted(self) -> None:
        if not self._warned_drop and self.core.held_dropped:
            self._warned_drop = True
            log.warning(
                "events emitted while nobody was connected exceeded max_backlog_events (%d): the oldest "
                "are being dropped (counted in stats()['held_dropped']; logged once)",
                self.core.limits()["max_backlog_events"],
            )

    @staticmethod
    def _target(to: EventTarget) -> Any:
        target = getattr(to, "_target", None)
        if isinstance(target, _core.Target):
            return target  # a WebView: its page, across reloads
        raise TypeError(f"an event target is None, a connection id, a WebView or a (kind, value) tuple; got {to!r}")

    # -- topics (docs/topics.md) ---------------------------------------------------------

    def publish(self, topic: Topic[T] | str, payload: T) -> int:
        """Publish ``payload`` on ``topic`` (a declared `Topic` or its name): validated against
        its payload type, given the next offset, queued to every subscriber in order (clients
        and the app's own). Returns the offset. Raises `pydantic.ValidationError` for the wrong
        shape, `LookupError` for an undeclared topic (unless ``open_topics``), `ValueError` for
        an invalid name or integers JavaScript cannot represent, `TopicsUnavailable` when the
        app's broker is down or did not confirm it (it waits at most 10 s for the broker)."""
        return self._topics.publish(topic, payload)

    def subscribe(self, topic: Topic[T] | str, handler: Callable[[T], Any]) -> None:
        """Call ``handler(payload)`` for every message published on ``topic`` from now on while
        the app runs (a window, a server or a test client attached: nothing is queued for it
        meanwhile), in publish order: an async handler on the app's loop (started in order), a
        sync one on the event thread (run in order)."""
        self._topics.subscribe(topic, handler)

    def unsubscribe(self, topic: Topic[Any] | str, handler: Callable[[Any], Any]) -> bool:
        """Stop calling ``handler`` for ``topic``; whether it was subscribed."""
        return self._topics.unsubscribe(topic, handler)

    def presence(self, topic: Topic[Any] | str) -> list[dict[str, Any]]:
        """The connections subscribed to ``topic`` now, with their identity (as
        `connections`). The app's own subscription is not a connection."""
        return self._topics.presence(topic)

    def broker_status(self) -> dict[str, Any] | None:
        """The topics broker link (``App(broker=...)``): ``url`` (without its password),
        ``up``, ``since`` (when it last went up or down, seconds since 1970), ``outages`` and
        ``last_error``; None when the app has no broker."""
        return self.core.broker_status()

    def _handlers_for(self, name: str) -> list[EventHandler]:
        if name.startswith(TOPIC_HANDLERS):
            return self._topics.handlers(name)
        return self.commands.handlers(name)

    # -- the main thread (docs/dcc.md) ---------------------------------------------------

    @property
    def main_thread(self) -> MainThreadExecutor:
        """The executor running this app's main-thread handlers (``thread="main"``)."""
        return self._main_lane.executor

    def pump_main_thread(self, timeout: float | None = 0.0) -> int:
        """Run the main-thread jobs waiting now on this thread (the default executor only;
        see `PumpExecutor.pump`): what a program calls regularly after ``show(block=False)``,
        from the thread that should run its ``thread="main"`` handlers. Waits up to
        ``timeout`` seconds for a job when none is waiting; returns how many ran."""
        executor = self.main_thread
        if not isinstance(executor, PumpExecutor):
            raise TypeError(
                f"pump_main_thread() runs the default executor's jobs; this app's main-thread jobs are run by "
                f"{executor!r}, by the host's own loop"
            )
        return executor.pump(timeout)

    async def run_in_main_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the main thread, through this app's executor, awaited
        from a coroutine (an async handler that calls the host between its awaits). Queued
        behind the main-thread handlers already waiting. Cancelling the awaiting task (its
        call's timeout, a cancel) before ``fn`` started means it never runs; once it runs it
        cannot be stopped. Raises what ``fn`` raises, and `MainThreadUnavailable` when the
        executor cannot take it (whatever the executor or the host's hook raised is its
        ``__cause__``)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        job = _FnJob(lambda: fn(*args, **kwargs), loop, fut)
        try:
            self._main_lane.put(job)
        except MainThreadUnavailable:
            raise
        except Exception as exc:
            raise MainThreadUnavailable(str(exc) or type(exc).__name__) from exc
        try:
            return await fut
        finally:
            job.drop()

    # -- inspection -------------------------------------------------------------------

    def connections(self) -> list[dict[str, Any]]:
        """Every open connection's identity: ``id``, ``transport``, ``window``, ``origin``, ``peer``."""
        return self.core.connections()

    def connection_info(self, conn: int) -> dict[str, Any] | None:
        """The identity of connection ``conn`` (as passed with each call), None once closed."""
        return self.core.conn_info(conn)

    def stats(self) -> dict[str, int]:
        """The router's counters, and the runtime's waits for the next call."""
        stats = self.core.stats()
        runtime = self._runtime
        if runtime is not None:
            stats["spin_hits"], stats["spin_misses"] = runtime.spin_hits, runtime.spin_misses
        return stats

    @property
    def runtime(self) -> Runtime | None:
        """The runtime running the handlers, while any transport is attached."""
        return self._runtime

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the handlers run on, while any transport is attached."""
        runtime = self._runtime
        return runtime.loop if runtime is not None else None

    # -- transports (internal: windows and clients attach here) -------------------------

    def _register(self, cmd: Command) -> None:
        with self._lock:
            # The handler is in the table before the core can route a call to it.
            self._methods.append(cmd)
            self.core.register(cmd.name, len(self._methods) - 1, cmd.timeout, cmd.transports, cmd.origins)

    def _attach(self, *, in_loop: bool, debug: bool | None = None, sync_workers: int | None = None) -> Runtime:
        """A transport joins; call on the loop that runs (or will run) the handlers.
        ``in_loop``: the transport itself runs on that loop (its calls are sent from it).
        ``debug``/``sync_workers``: for a runtime this attach starts (a test client's)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise RuntimeError("this App is closed")
            runtime = self._runtime
            if runtime is None:
                runtime = Runtime(
                    self.core,
                    self._methods,
                    self._handlers_for,
                    debug=self.debug if debug is None else debug,
                    sync_workers=self.sync_workers if sync_workers is None else sync_workers,
                    spin_us=self.spin_us,
                    event_taps=self._event_taps,
                    on_fatal=self._handler_stops_app,
                    builtin=self._topics.handle,
                    main_lane=self._main_lane,
                )
                runtime.start()
                self._runtime = runtime
                self._topics.set_running(True)
            elif runtime.loop is not loop:
                raise RuntimeError("the app's handlers run on another event loop; attach from that loop")
            elif (debug is not None and debug != runtime.debug) or (
                sync_workers is not None and sync_workers != runtime.sync_workers
            ):
                raise ValueError("the app's runtime already runs with other debug/sync_workers settings")
            self._users += 1
            self._in_loop_users += in_loop
            runtime.may_spin = self._in_loop_users == 0
            return runtime

    async def _detach(self, *, in_loop: bool) -> None:
        """A transport leaves; the last one stops the runtime (the router stays)."""
        with self._lock:
            self._users -= 1
            self._in_loop_users -= in_loop
            runtime = self._runtime
            if runtime is None:
                return
            runtime.may_spin = self._in_loop_users == 0
            if self._users > 0:
                return
            self._runtime = None
            self._topics.set_running(False)
            self._stopping += 1
        try:
            await runtime.stop(self.shutdown_grace)
        finally:
            with self._lock:
                self._stopping -= 1
                self._retire_if_idle()

    def _retire_if_idle(self) -> None:
        """With the lock held: when the last transport served from the app's background
        thread left, and none is about to attach there, that thread ends (a host that opens
        and closes panels all day would otherwise keep one per app). A later one starts a
        new thread."""
        loop = self._background
        if loop is None or self._users or self._home_leases or self._stopping or self._runtime is not None:
            return
        self._background = None
        # Not closed unless its thread ended on its own (a SystemExit escaping a callback).
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)

    def _background_ended(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._background is loop:
                self._background = None

    def _handler_stops_app(self, exc: BaseException) -> None:
        """A handler raised `KeyboardInterrupt` or `SystemExit` (already answered; recorded
        in `Runtime.fatal`): close the app's windows and servers. The owners of the run
        re-raise it once their transports have closed. Called from the handler's thread."""
        with self._lock:
            windows = list(self._windows.values())
            servers = list(self._servers)
            loop = self.loop
        for view in windows:
            view.close()  # from any thread
        for server in servers:
            server._fatal = exc  # raised again by its `serve_forever`

        def close_servers() -> None:
            for server in servers:
                try:
                    server.close()
                except Exception:  # the others still close
                    log.exception("closing a server after %r failed", exc)

        if servers:
            try:
                if loop is None:
                    raise RuntimeError("no loop")
                loop.call_soon_threadsafe(close_servers)  # not from inside a dispatch
            except RuntimeError:  # the loop is gone (closed meanwhile): from here
                close_servers()

    def _claim_label(self, view: WebView) -> None:
        with self._lock:
            other = self._windows.get(view.label)
            if other is not None and other is not view:
                raise ValueError(f"another open window of this app is labelled {view.label!r}; give each a unique label=")
            self._windows[view.label] = view

    def _release_label(self, view: WebView) -> None:
        with self._lock:
            if self._windows.get(view.label) is view:
                del self._windows[view.label]

    def _hold_loop(self, *, start: bool) -> asyncio.AbstractEventLoop | None:
        """The loop a transport about to attach will be served on, held for it: the
        runtime's; else, with ``start``, the app's background thread's (a daemon, started
        when needed, ending when the last transport it served leaves); else None. A loop
        returned is not retired until `_let_go` (once the transport attached, or failed
        to; `_run_held` does it when its coroutine ended)."""
        with self._lock:
            loop = self.loop
            if loop is None and start:
                if self._background is None or self._background.is_closed():
                    self._background = _start_background(self._background_ended)
                loop = self._background
            if loop is not None:
                self._home_leases += 1
            return loop

    def _let_go(self) -> None:
        """The transport given a loop by `_hold_loop` attached, or failed to. From any thread."""
        with self._lock:
            self._home_leases -= 1
            self._retire_if_idle()

    def _run_held(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on ``loop``, given by `_hold_loop`, and let go of the loop once
        ``coro`` has ended (a transport it attached holds the loop itself by then). Even a
        caller that cancels at once does not stop ``coro`` from starting: asyncio cancels
        the task on its loop, after its first step, so the hold is always let go."""

        async def held() -> T:
            try:
                return await coro
            finally:
                self._let_go()

        try:
            return asyncio.run_coroutine_threadsafe(held(), loop)
        except BaseException:
            coro.close()
            self._let_go()
            raise

    def _attach_held(
        self, loop: asyncio.AbstractEventLoop, attach: Callable[[], T]
    ) -> tuple[concurrent.futures.Future[T], Callable[[], None]]:
        """Run ``attach`` (an `_attach`, ``in_loop=False``) on ``loop``, given by
        `_hold_loop`, from another thread: its future, and ``abandon()`` for a caller that
        stops waiting (interrupted, cancelled). An abandoned attach is undone, whether it
        ran before or runs after: no transport owns it, and the app's runtime and thread
        would otherwise stay for nothing."""
        lock = threading.Lock()
        abandoned = attached = False

        async def run() -> T:
            nonlocal attached
            with lock:
                if abandoned:
                    raise asyncio.CancelledError
            result = attach()
            with lock:
                attached = not abandoned
            if not attached:
                await self._detach(in_loop=False)
                raise asyncio.CancelledError
            return result

        def abandon() -> None:
            nonlocal abandoned
            with lock:
                abandoned = True
                undo = attached
            if undo:
                asyncio.run_coroutine_threadsafe(self._detach(in_loop=False), loop)

        return self._run_held(loop, run()), abandon

    # -- the network ------------------------------------------------------------------

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        assets: str | os.PathLike[str] | None = None,
        origins: list[str] | tuple[str, ...] = (),
        expose: Literal["all", "declared"] = "declared",
        csp: str | None = None,
        heartbeat: float = 15.0,
        heartbeat_timeout: float = 10.0,
        max_outbound_bytes: int = 8 * 1024 * 1024,
        max_connections: int = 10_000,
        metrics: bool = False,
    ) -> Server:
        """Serve this app over HTTP + WebSocket (docs/network.md) and return at once; the
        server runs on the core's own threads and the handlers on the app's runtime, beside
        any open windows (same router). ``server.url`` is the URL to open in a browser.

        ``expose``: which commands without ``transports`` rules network clients may call —
        ``"declared"`` (default: only commands whose ``transports`` name ``"network"``, so
        that commands written for the app's own windows are not handed to the network by
        accident) or ``"all"`` (what ``auroraview serve MODULE:OBJECT`` uses).
        ``token``: the secret clients need (22 to 128 of ``[A-Za-z0-9_-]``; generated when
        omitted). ``origins``: browser origins allowed besides the server's own.
        Binding anywhere but loopback is allowed and warned about.

        Called from inside a running event loop while the app has no loop yet, the handlers
        run on that loop (so a `TestClient` on it works): close the server before that loop
        ends, or calls are accepted that no handler will answer until the server closes."""
        from .server import Server, run_on, warn_if_exposed

        warn_if_exposed(host)
        with self._lock:
            if self._closed:
                raise RuntimeError("this App is closed")
        core = _core.Server(
            self.core,
            host=host,
            port=port,
            token=token,
            assets=assets,
            csp=csp,
            origins=list(origins),
            expose=expose,
            heartbeat=heartbeat,
            heartbeat_timeout=heartbeat_timeout,
            max_outbound_bytes=max_outbound_bytes,
            max_connections=max_connections,
            metrics=metrics,
        )
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        try:
            # Handlers must run while the server is up: attach like a window, on the app's
            # loop, or this loop when the app has none yet, or the app's background thread.
            if running is not None and self.loop in (None, running):
                run_on(running, lambda: self._attach(in_loop=False))
            else:
                home = self._hold_loop(start=True)
                assert home is not None

                attached, abandon = self._attach_held(home, lambda: self._attach(in_loop=False))
                try:
                    attached.result()
                except BaseException:
                    abandon()  # Ctrl-C while waiting: the attach is undone
                    raise
        except BaseException:
            core.close()
            raise
        server = Server(self, core, expose=expose)
        with self._lock:
            self._servers.append(server)
        return server

    @property
    def children(self) -> ChildManager:
        """The child processes of this app (`auroraview.children.ChildManager`): ``spawn``,
        ``send_to_child``, ``broadcast``, ``on_child_message``, ``on_child_exit``. Made on
        first use; it serves the app on loopback for its children when they first need it."""
        from .children import ChildManager

        with self._lock:
            if self._children is None:
                self._children = ChildManager(self)
            return self._children

    def _add_event_tap(self, tap: EventTap) -> None:
        """See every client event before its handlers (the child manager's hook)."""
        with self._lock:
            self._event_taps.append(tap)

    @property
    def servers(self) -> list[Server]:
        """The servers of this app still running."""
        with self._lock:
            return list(self._servers)

    def _server_closed(self, server: Server, timeout: float) -> None:
        with self._lock:
            if server not in self._servers:
                return
            self._servers.remove(server)
            runtime = self._runtime
        loop = runtime.loop if runtime is not None else None
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._detaching = loop.create_task(self._detach(in_loop=False))  # held: a task nobody holds may vanish
        elif not loop.is_closed():
            detach = asyncio.run_coroutine_threadsafe(self._detach(in_loop=False), loop)
            # From one of the runtime's own worker threads (a sync handler closing its
            # server), waiting would deadlock: stopping the runtime waits for this handler.
            # The same from a main-thread handler.
            if not threading.current_thread().name.startswith(("auroraview-sync", "auroraview-events")) and not (
                in_main_thread_job()
            ):
                detach.result(timeout)

    # -- end ------------------------------------------------------------------------

    def close(self) -> None:
        """End the app: calls in flight are answered ``shutting_down`` (their handlers
        cancelled) and new calls are refused. Windows still open keep their pages but no
        call reaches a handler any more."""
        with self._lock:
            self._closed = True
            servers = list(self._servers)
            children = self._children
        if children is not None:
            children.close()
        for server in servers:
            server.close()
        self.core.close_broker()
        self.core.shutdown()


class _FnJob:
    """`App.run_in_main_thread`'s job: runs ``fn`` unless the awaiting task gave up first,
    and hands its outcome to the awaiting loop."""

    __slots__ = ("fn", "fut", "lock", "loop", "state")

    def __init__(self, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any]) -> None:
        self.fn, self.loop, self.fut = fn, loop, fut
        self.lock = threading.Lock()
        self.state = 0  # 0 queued, 1 started, 2 dropped

    def __call__(self) -> None:
        with self.lock:
            if self.state != 0:
                return
            self.state = 1
        try:
            value = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task, never raised here
            self._settle(exc, None)
        else:
            self._settle(None, value)

    def _settle(self, exc: BaseException | None, value: Any) -> None:
        def settle() -> None:
            if self.fut.done():
                return
            if exc is not None:
                self.fut.set_exception(exc)
            else:
                self.fut.set_result(value)

        with contextlib.suppress(RuntimeError):  # the awaiting loop closed meanwhile
            self.loop.call_soon_threadsafe(settle)

    def drop(self) -> None:
        with self.lock:
            if self.state == 0:
                self.state = 2

    def refuse(self, why: str) -> None:
        with self.lock:
            if self.state != 0:
                return
            self.state = 2
        self._settle(MainThreadUnavailable(why), None)
