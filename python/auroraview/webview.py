"""`WebView`: a native window whose page talks to this process, and `AuroraView` (the seeds' name).

Threads: one GUI thread per process owns every window (started on first use, never takes
the GIL). A window is a transport of its registry's `App`: its page's connection joins the
app's router, and its handlers run on the app's loop — the caller's under `await
run_async()`, a fresh one under `show()`, or the app's background thread under
`show(block=False)` for host applications that own their main thread. Several windows of one
app share that loop and that router.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import itertools
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from . import _core
from ._wait_url import wait_for_url
from .commands import Commands, HandlerThread, Transport
from .errors import GuiUnavailable, InvokeException, JavaScriptError, PageCrashed, PageNavigated, WindowClosed
from .mainthread import PumpExecutor

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._runtime import Runtime
    from .app import App, MainThread

__all__ = ["AuroraView", "PageFault", "PageNavigated", "ReadyStage", "WebView", "gui_mode"]

F = TypeVar("F", bound=Callable[..., Any])

_labels = itertools.count(1)

#: What `WebView.wait_ready` waits for: the native window exists (``"created"``), it is on
#: screen (``"shown"``: mapped, by us or by the host embedding it), its first page finished
#: loading (``"loaded"``), the page's bridge listens (``"bridge"``: events emitted from now on
#: reach its listeners at once; those emitted before were held for it).
ReadyStage = Literal["created", "shown", "loaded", "bridge"]
_STAGES: tuple[ReadyStage, ...] = ("created", "shown", "loaded", "bridge")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

_live: set[WebView] = set()
_live_lock = threading.Lock()
_atexit_registered = False


@dataclass(frozen=True)
class PageFault:
    """Something went wrong with a window's page (given to ``on_fault`` callbacks).

    ``kind`` is ``"crashed"``: the renderer process ended (``reason`` is ``"crashed"``,
    ``"exceeded_memory_limit"`` or ``"terminated_by_api"``); the page's calls in flight were
    ended, pending `WebView.eval_js` calls raised `PageCrashed`, and ``reloading`` says
    whether the window is loading its page again (``on_crash="reload"``, at most 3 times a
    minute). Or ``"blocked"``: a navigation to ``url`` was refused because its origin may not
    be shown in this window (``reason`` is ``"origin_not_allowed"``); the page stays as it was,
    or blank when it was the first load (a redirect to another site).
    """

    kind: Literal["crashed", "blocked"]
    reason: str
    url: str | None = None
    reloading: bool = False


def gui_mode() -> Literal["own", "host"] | None:
    """Who runs this process's windows: ``"own"`` (our ``auroraview-gui`` thread: a
    standalone app), ``"host"`` (a host application's loop on its main thread: Qt's GLib
    event dispatcher), or None while no window has opened yet (docs/dcc.md)."""
    return _core.gui_mode()


def _shutdown_all() -> None:
    """At interpreter exit: close every window and stop the GUI thread while Python is still
    whole. (Exiting with a window open otherwise aborts the process with exit code 134.)"""
    with _live_lock:
        views = list(_live)
    for view in views:
        view.close()
    for view in views:
        deadline = time.monotonic() + 2.0
        # On a Qt application's main thread (it owns the GLib context that runs the windows)
        # the closes happen only while this thread runs that context.
        while not view._wait_closed(0) and _core.gui_iterate(0.005) and time.monotonic() < deadline:
            pass
        view._wait_closed(max(0.0, deadline - time.monotonic()))
    _core.shutdown_gui(2.0)


def _register_atexit() -> None:
    global _atexit_registered
    with _live_lock:
        if not _atexit_registered:
            atexit.register(_shutdown_all)
            _atexit_registered = True
            # Once per process, with the first window: which engine renders the pages.
            logging.getLogger("auroraview").info("WebKitGTK %s", _core.webkit_version())


class WebView:
    """A window whose page talks to this process. Decorators register on its `commands`.

    Give the page as ``url=`` (a dev server or remote page; its origin alone may use IPC),
    ``assets=`` (a folder served from ``auroraview://localhost/``, ``index.html`` by default:
    opening the window without one raises `FileNotFoundError` naming the folder) or ``html=`` (one page, served the same way). The first positional argument is the
    title; a URL there is an error (pass ``url=``).

    The window joins the app of ``commands`` (``app=`` names it explicitly; one is made for
    the registry otherwise): windows of one registry share one router and one runtime.
    ``label`` identifies the window among the app's windows (events can target it; its
    page's connections carry it); unique per app, ``"window-N"`` by default.

    A ``url=`` on this machine (``localhost``, ``127.0.0.1``: a dev server) is waited for when
    the window opens: one warning while it does not accept connections, retries for
    ``url_wait`` seconds (0: no wait), then `ConnectionError` naming the URL.

    ``debug`` turns on devtools for this window, and tracebacks in error replies for an app
    made for it. ``sync_workers`` and ``spin_us`` configure an app made for this window (see
    `App`); they are errors when the app exists with other settings. So is ``main_thread``:
    what runs the handlers declared ``thread="main"`` (see `App` and docs/dcc.md).

    ``parent`` embeds the window in another application's native window (on Linux an X11
    window id): it fills that window, follows its size, and closes when it is destroyed. In
    a Qt application use `auroraview.qt.WebViewWidget` instead, which also follows re-docking
    (docs/dcc.md).
    """

    def __init__(
        self,
        title: str = "auroraview",
        url: str | None = None,
        html: str | None = None,
        *,
        assets: str | os.PathLike[str] | None = None,
        label: str | None = None,
        width: int = 1024,
        height: int = 768,
        resizable: bool = True,
        visible: bool = True,
        debug: bool = False,
        csp: str | None = None,
        commands: Commands | None = None,
        app: App | None = None,
        sync_workers: int | None = None,
        on_close: Callable[[], Any] | None = None,
        spin_us: int | None = None,
        on_crash: Literal["reload", "close", "notify"] = "reload",
        on_fault: Callable[[PageFault], Any] | None = None,
        url_wait: float = 15.0,
        main_thread: MainThread = None,
        parent: int | None = None,
    ) -> None:
        if not isinstance(title, str):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(f"title must be a string, got {type(title).__name__}")
        if _URL.match(title):
            raise ValueError(f"WebView's first argument is the window title, got the URL {title!r}: pass url={title!r}")
        if sum(x is not None for x in (url, html, assets)) > 1:
            raise ValueError("pass either url=, html= or assets=, not several")
        if assets is not None and not Path(assets).is_dir():
            raise ValueError(f"assets={os.fspath(assets)!r} is not a folder")
        if on_crash not in ("reload", "close", "notify"):
            raise ValueError(f'on_crash must be "reload", "close" or "notify", got {on_crash!r}')
        if app is not None and commands is not None and app.commands is not commands:
            raise ValueError("commands= and app= name different registries; pass one of them")
        self.title = title
        self.url = url
        self.url_wait = url_wait
        self.html = html
        self.assets = Path(assets) if assets is not None else None
        label = label if label is not None else f"window-{next(_labels)}"
        if not isinstance(label, str) or not label:  # pyright: ignore[reportUnnecessaryIsInstance] - for untyped callers
            raise ValueError(f"label must be a non-empty string, got {label!r}")
        self._label = label
        self._target = _core.Target(("window", label))  # parsed once: emit is a hot path
        self.width = width
        self.height = height
        self.resizable = resizable
        self.visible = visible
        self.debug = debug
        self.csp = csp
        if parent is not None and (not isinstance(parent, int) or isinstance(parent, bool) or parent <= 0):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"parent must be a native window id (a positive int: an X11 window id), got {parent!r}")
        self.parent = parent
        #: Set by a host's widget that takes the native window (`auroraview.qt.WebViewWidget`).
        self._embedded = False
        #: The window has the keyboard focus (reported by the GUI thread).
        self._has_focus = False
        self.commands = app.commands if app is not None else commands if commands is not None else Commands()
        self._app = app
        self._app_settings: dict[str, Any] = {
            "sync_workers": sync_workers,
            "spin_us": spin_us,
            "debug": debug or None,
            "main_thread": main_thread,
        }
        self._on_close: list[Callable[[], Any]] = [on_close] if on_close is not None else []
        self.on_crash: Literal["reload", "close", "notify"] = on_crash
        self._on_fault: list[Callable[[PageFault], Any]] = [on_fault] if on_fault is not None else []
        self._window: _core.Window | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed_future: asyncio.Future[None] | None = None
        self._opened = threading.Event()
        self._finished = threading.Event()
        self._finished.set()
        self._open_error: BaseException | None = None
        self._eval_ids = itertools.count(1)
        self._evals: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        #: Set by `close()` and when the window has closed: a WebView is shown once.
        self._close_requested = False
        self._task: asyncio.Task[None] | None = None
        self._runtime: Runtime | None = None
        #: The KeyboardInterrupt/SystemExit a handler raised while this window was served,
        #: raised again by `run_async()`, `show()` or `wait_closed()` once it has closed.
        self._fatal: BaseException | None = None
        self._fault_tasks: set[asyncio.Task[Any]] = set()
        self._loaded_once = False  # the window's first document has started loading
        self._shown = False  # `show()` / `run_async()` got as far as opening the window
        self._warned_emit = False  # emit() on the closed window was logged (once)
        #: Each ready stage this window reached (see `wait_ready`), set once.
        self._stages: dict[ReadyStage, threading.Event] = {stage: threading.Event() for stage in _STAGES}

    @property
    def label(self) -> str:
        """The window's label among its app's windows (fixed at construction)."""
        return self._label

    @property
    def app(self) -> App:
        """The app this window joins (its registry's)."""
        if self._app is None:
            from .app import App

            with _live_lock:
                if self.commands._app is None:
                    settings = {k: v for k, v in self._app_settings.items() if v is not None}
                    App(self.commands, **settings)
                self._app = self.commands.app
        if self._app_settings:
            given = self._app_settings.get("main_thread")
            if given is not None and given != self._app._main_thread_given:
                raise ValueError(
                    f"main_thread={given!r} differs from the app this window joins (main_thread="
                    f"{self._app._main_thread_given!r}); configure it once, with App(commands, main_thread=...)"
                )
            for key, value in self._app_settings.items():
                if value is not None and key not in ("debug", "main_thread") and getattr(self._app, key) != value:
                    raise ValueError(
                        f"{key}={value!r} differs from the app this window joins ({key}={getattr(self._app, key)!r}); "
                        "configure it once, with App(commands, ...)"
                    )
            self._app_settings = {}  # checked once
        return self._app

    # -- registry -------------------------------------------------------------------

    # The same parameters as `Commands.command`: an argument it lacked matched no overload,
    # and a type checker then took the decorated function for `Any`.
    @overload
    def command(
        self,
        name: F,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> F: ...
    @overload
    def command(
        self,
        name: str | None = None,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> Callable[[F], F]: ...
    def command(
        self,
        name: Any = None,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> Any:
        """See `Commands.command`: the function is returned unchanged, its type kept."""
        return self.commands.command(
            name, timeout=timeout, errors=errors, transports=transports, origins=origins, thread=thread
        )

    def bind_call(self, name: str, fn: Callable[..., Any] | None = None, *, timeout: float | None = None) -> Any:
        """See `Commands.bind_call`."""
        return self.commands.bind_call(name, fn, timeout=timeout)

    def bind_api(self, obj: object, namespace: str = "api") -> list[str]:
        """See `Commands.bind_api`: the page calls ``auroraview.<namespace>.<method>()``."""
        return self.commands.bind_api(obj, namespace)

    @overload
    def on(self, event: str, *, thread: HandlerThread | None = None) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, fn: F, *, thread: HandlerThread | None = None) -> F: ...
    def on(self, event: str, fn: Any = None, *, thread: HandlerThread | None = None) -> Any:
        """See `Commands.on`: a decorator, or ``view.on("name", handler)``."""
        return self.commands.on(event, fn, thread=thread)

    def on_close(self, fn: F) -> F:
        """Call ``fn()`` once the window has closed (usable as a decorator)."""
        self._on_close.append(fn)
        return fn

    def on_fault(self, fn: F) -> F:
        """Call ``fn(fault)`` with a `PageFault` when the page's renderer ends or a navigation
        is refused (usable as a decorator). Runs on the app's loop; a coroutine function's
        coroutine runs as a task there."""
        self._on_fault.append(fn)
        return fn

    def reload(self) -> None:
        """Load the window's page again (from any thread); for ``on_crash="notify"``, the
        way to recover once the app is ready. Raises `WindowClosed` when it is not open."""
        window = self._window
        if window is None:
            raise WindowClosed("the window is not open")
        window.reload()

    def pump_main_thread(self, timeout: float | None = 0.0) -> int:
        """After ``show(block=False)`` with the default main-thread executor: run the
        ``thread="main"`` handlers waiting now, on this thread (see `App.pump_main_thread`).
        Call it regularly from the thread that called ``show()``; returns how many ran."""
        return self.app.pump_main_thread(timeout)

    # -- Python → page --------------------------------------------------------------

    def emit(self, event: str, payload: Any = None) -> bool:
        """Push an event to this window's page only, across reloads (``commands.emit``
        reaches every connection of the app). Events emitted before the page is connected
        are held for it (see `App.emit`). Returns True when the event was sent or held.

        Once the window was closed (or `close()` was called) no page will ever get it: the
        event is dropped, ``emit`` returns False and logs a warning (once per window). It
        does not raise, because a background thread emitting while the user closes the
        window is a race the app cannot avoid, and a producer must not die of it; it can
        stop on the False instead."""
        if self._close_requested:
            self._dropped_on_closed(event)
            return False
        app = self._app if self._app is not None and not self._app_settings else self.app
        if not app.core.emit(event, app.commands._event_json(event, payload), self._target):
            app._unrouted()
        return True

    def _dropped_on_closed(self, event: str) -> None:
        if not self._warned_emit:
            self._warned_emit = True
            logging.getLogger("auroraview").warning(
                "window %r: emit(%r) after the window was closed: dropped (emit returns False; logged once per window)",
                self.label,
                event,
            )

    async def eval_js(self, code: str, *, timeout: float | None = 10.0) -> Any:
        """Evaluate ``code`` in the page and return its value (decoded from JSON).

        Asked before the window's first document exists, it waits for it (and runs once).
        Raises `JavaScriptError` when the script throws, `WindowClosed` when the window is
        not open or closes first, `PageCrashed` when the page's renderer ended (before or
        during the evaluation; until the page has loaded again), `PageNavigated` when the
        page starts loading another document first (WebKit then drops the evaluation) or the
        first document never loads (refused, or failed to load), and
        `TimeoutError` after ``timeout`` seconds."""
        window, loop = self._window, asyncio.get_running_loop()
        if window is None:
            raise WindowClosed("the window is not open")
        eval_id = next(self._eval_ids)
        fut: asyncio.Future[Any] = loop.create_future()
        self._evals[eval_id] = (loop, fut)
        try:
            window.eval(eval_id, code)
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._evals.pop(eval_id, None)

    # -- running --------------------------------------------------------------------

    async def run_async(self) -> None:
        """Open the window and serve it until it closes. Handlers run on the app's loop:
        this one, unless the app already runs on another (then the window is served there
        and this coroutine waits for it).

        Raises `RuntimeError` when the window is open already, or was closed (a WebView is
        shown once: create a new one), and, once the window has closed, the
        `KeyboardInterrupt` or `SystemExit` a handler raised (which closed it)."""
        self._check_can_open()
        if self.url is not None:
            await asyncio.to_thread(wait_for_url, self.url, self.url_wait)
        app = self.app
        home = app._hold_loop(start=False)
        if home is not None and home is not asyncio.get_running_loop():
            await asyncio.wrap_future(app._run_held(home, self._serve()))
        else:
            if home is not None:
                app._let_go()  # this loop: the window attaches before anything else runs here
            await self._serve()
        self._raise_fatal()

    def _check_can_open(self) -> None:
        if self._window is not None or not self._finished.is_set():
            raise RuntimeError("this WebView is already open")
        # Checked at open, not in __init__: a module that makes its window at import must
        # still import (for codegen) before its frontend is built.
        if self.assets is not None and not (self.assets / "index.html").is_file():
            where = os.fspath(self.assets.resolve())
            raise FileNotFoundError(
                f"assets={os.fspath(self.assets)!r} ({where}) has no index.html, the page the window opens: "
                "build the frontend first (e.g. `npm run build`), or pass the folder that holds index.html"
            )
        if self._close_requested:
            raise RuntimeError(
                "this WebView was closed: a closed window cannot be shown again; create a new WebView to open another"
            )

    def _raise_fatal(self) -> None:
        fatal, self._fatal = self._fatal, None
        if fatal is not None:
            raise fatal

    async def _serve(self) -> None:
        self._open()
        await self._lifetime()

    def _open(self) -> None:
        """Open the window (on the app's loop, or the loop that will be the app's)."""
        if not _core.WINDOW_SUPPORT:
            from ._load import WINDOW_UNAVAILABLE

            raise GuiUnavailable(
                "auroraview runs without its window part here: windows need WebKitGTK 4.1 and GTK 3 "
                "(Debian/Ubuntu: apt install libwebkit2gtk-4.1-0; Fedora: dnf install webkit2gtk4.1). "
                f"Loading the full build failed with: {WINDOW_UNAVAILABLE}"
            )
        self._check_can_open()
        app = self.app
        app._claim_label(self)
        loop = asyncio.get_running_loop()
        try:
            runtime = app._attach(in_loop=False)
        except BaseException:
            app._release_label(self)
            raise
        self._loop = loop
        self._runtime = runtime
        self._fatal = None
        self._closed_future = loop.create_future()
        self._open_error = None
        self._shown = True
        self._finished.clear()
        try:
            self._loaded_once = False
            self._window = _core.Window(
                runtime.core,
                label=self.label,
                title=self.title,
                url=self.url,
                assets=os.fspath(self.assets) if self.assets is not None else None,
                html=self.html,
                width=float(self.width),
                height=float(self.height),
                resizable=self.resizable,
                visible=self.visible,
                debug=self.debug,
                csp=self.csp,
                on_crash=self.on_crash,
                parent=self.parent,
                embedded=self._embedded,
            )
        except BaseException as exc:
            self._open_error = exc
            self._finished.set()
            app._release_label(self)
            self._task = loop.create_task(app._detach(in_loop=False))  # held: a task nobody holds may vanish
            raise
        with _live_lock:
            _live.add(self)
        _register_atexit()
        loop.add_reader(self._window.fileno(), self._on_window_events)
        self._stages["created"].set()
        self._opened.set()
        if self._close_requested:  # close() was called while the window was opening
            self._window.close()

    async def _lifetime(self) -> None:
        """Serve the open window until it closes, then tear down."""
        assert self._closed_future is not None and self._loop is not None
        loop, app = self._loop, self.app
        try:
            await self._closed_future
        finally:
            window = self._window
            if window is not None:
                loop.remove_reader(window.fileno())
                window.close()
            for eval_loop, fut in self._evals.values():
                eval_loop.call_soon_threadsafe(_fail_if_pending, fut, WindowClosed("the window closed before the evaluation finished"))
            self._evals.clear()
            self._window = self._loop = None
            self._close_requested = True  # shown once
            app._release_label(self)
            with _live_lock:
                _live.discard(self)
            await app._detach(in_loop=False)
            runtime, self._runtime = self._runtime, None
            if runtime is not None:
                self._fatal = runtime.fatal
            self._finished.set()
            for callback in self._on_close:
                try:
                    callback()
                except Exception:  # a callback must not break shutdown
                    logging.getLogger("auroraview").exception("on_close callback failed")

    def show(self, *, block: bool = True) -> None:
        """Open the window. Blocks until it closes; with ``block=False`` (for host
        applications that own their main thread) returns once it is open, serving it from
        the app's loop (its background thread unless the app already runs on a loop).

        A WebView is shown once: `RuntimeError` when it is open already or was closed. Once
        the window has closed, raises the `KeyboardInterrupt` or `SystemExit` a handler
        raised (``sys.exit(3)`` in a handler exits the program with status 3; with
        ``block=False``, `wait_closed` raises it). Ctrl-C closes the window, then raises
        `KeyboardInterrupt` (one traceback, not chained to asyncio's `CancelledError`).

        Main-thread handlers (``thread="main"``) with the default executor: a blocking
        ``show()`` runs them on its own thread while it waits, and serves the window from the
        app's loop on a thread of its own (so a busy handler never stalls the others); after
        ``show(block=False)``, call `pump_main_thread` regularly from this thread (docs/dcc.md).

        Inside a Qt application (Linux, Qt's GLib event dispatcher), the windows run on Qt's
        main thread, driven by its loop: ``show(block=False)`` works from that thread (before
        or after ``exec()`` started) or from any other while the loop runs; a blocking
        ``show()`` on that thread raises `RuntimeError` (docs/dcc.md)."""
        self._check_can_open()
        if block and _core.gui_context_owned():
            raise RuntimeError(
                "show() would block this thread, but it owns the GLib main context that runs the windows "
                "(a Qt application's main thread, with Qt's GLib event dispatcher): the window would never "
                "be drawn. Use show(block=False) and let the host's event loop run (QApplication.exec())"
            )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        # The default executor runs main-thread handlers on this thread: a blocking show()
        # pumps them here while the app's loop serves the window from its own thread.
        pump = self._pump_for_show() if block and running is None else None
        if self.url is not None and (not block or (running is None and (self.app.loop is not None or pump))):
            # A blocking show on no loop goes through run_async, which waits itself.
            wait_for_url(self.url, self.url_wait)
        if block:
            if running is not None:
                raise RuntimeError(
                    "show() blocks the thread; inside a running event loop use `await webview.run_async()`"
                )
            home = self.app._hold_loop(start=pump is not None)
            if home is None:
                try:
                    asyncio.run(self._run_serving_main_thread())
                except KeyboardInterrupt as exc:
                    # Ctrl-C: asyncio.run cancelled the window's task (which closed the
                    # window cleanly) and raises KeyboardInterrupt while handling that
                    # CancelledError; one traceback is enough.
                    exc.__suppress_context__ = True
                    raise
            else:
                try:
                    with pump._serving() if pump is not None else contextlib.nullcontext():
                        served = self.app._run_held(home, self._serve())
                        if pump is not None:
                            served.add_done_callback(lambda _: pump._wake())
                            pump._pump_until(served.done)
                        served.result()
                except KeyboardInterrupt:
                    self.close()  # Ctrl-C while the app's loop serves the window elsewhere
                    raise
                self._raise_fatal()
            return
        home = self.app._hold_loop(start=True)
        assert home is not None
        opened: concurrent.futures.Future[None] = concurrent.futures.Future()

        def open_and_serve() -> None:
            try:
                self._open()
            except BaseException as exc:  # noqa: BLE001 - reported to show()
                opened.set_exception(exc)
                return
            finally:
                self.app._let_go()
            opened.set_result(None)
            self._task = home.create_task(self._lifetime())

        if running is home:
            open_and_serve()  # on the app's loop already (e.g. from a handler): open now
        else:
            home.call_soon_threadsafe(open_and_serve)
            # On the thread that owns GLib's default main context (a Qt application's main
            # thread) the window is built by this thread's loop: run it while waiting.
            while not opened.done() and _core.gui_iterate(0.005):
                pass
        opened.result()

    async def _run_serving_main_thread(self) -> None:
        """`run_async` for a blocking ``show()`` that runs the app's loop on its own thread:
        with the default executor, jobs handed to it (``App.run_in_main_thread``) run on this
        thread as the loop's callbacks, instead of being refused as nobody pumps."""
        executor = self.app.main_thread
        if isinstance(executor, PumpExecutor):
            with executor._served_by(asyncio.get_running_loop()):
                await self.run_async()
        else:
            await self.run_async()

    def _pump_for_show(self) -> PumpExecutor | None:
        """The default executor, when this blocking ``show()`` is to pump it: the registry
        has main-thread handlers and no other executor runs them."""
        executor = self.app.main_thread
        if isinstance(executor, PumpExecutor) and self.commands._uses_main_thread():
            return executor
        return None

    def close(self) -> None:
        """Close the window (from any thread). Calls in flight are cancelled."""
        self._close_requested = True
        window = self._window
        if window is not None:
            window.close()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until a window shown with ``block=False`` has closed; False after
        ``timeout`` seconds. Then raises the `KeyboardInterrupt` or `SystemExit` a handler
        raised (which closed it), if any. `RuntimeError` when the window was never shown
        (there is nothing to wait for: it did not close, it never opened)."""
        if not self._shown:
            raise RuntimeError("this WebView was never shown: wait_closed() waits for a window opened with show(block=False)")
        closed = self._wait_closed(timeout)
        if closed:
            self._raise_fatal()
        return closed

    def _wait_closed(self, timeout: float | None) -> bool:
        return self._finished.wait(timeout)

    async def wait_open(self, timeout: float | None = 30.0) -> None:
        """Wait until `run_async` (or `show`) has opened the window. Raises what opening
        raised, `WindowClosed` at once when the window was closed (or `close()` was called)
        before or while waiting, and `TimeoutError` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._window is None:
            if self._open_error is not None:
                raise self._open_error
            if self._close_requested:
                raise WindowClosed("the window was closed: it will not open (a WebView is shown once)")
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError("the window did not open")
            await asyncio.sleep(0.005)

    def reached(self, stage: ReadyStage) -> bool:
        """Whether the window has reached ``stage`` (see `wait_ready`)."""
        return self._stage(stage).is_set()

    async def wait_ready(self, stage: ReadyStage = "bridge", *, timeout: float | None = 30.0) -> None:
        """Wait until the window reached ``stage``: ``"created"`` (the native window exists),
        ``"shown"`` (it is on screen), ``"loaded"`` (its first page finished loading) or
        ``"bridge"`` (the page's bridge listens). Returns at once when it was reached before
        (a stage is reached once per window: a reload does not reset it). Usable before
        `show` (it waits for the window to open). Raises what opening raised, `WindowClosed`
        when the window closes (or was closed) first, and `TimeoutError` after ``timeout``."""
        event = self._stage(stage)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not event.is_set():
            self._check_not_ended(stage)
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError(f"window {self.label!r} did not reach {stage!r} within {timeout}s")
            await asyncio.sleep(0.005)

    def wait_ready_blocking(self, stage: ReadyStage = "bridge", *, timeout: float | None = 30.0) -> None:
        """`wait_ready` for synchronous code (a host's script editor, a Qt slot). On the
        thread that runs the windows (a Qt application's main thread) it runs that thread's
        event loop while it waits, as `QEventLoop.exec` would: nothing else could make the
        stage happen."""
        event = self._stage(stage)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not event.is_set():
            self._check_not_ended(stage)
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"window {self.label!r} did not reach {stage!r} within {timeout}s")
            if not _core.gui_iterate(0.005):
                event.wait(0.005)

    def _stage(self, stage: ReadyStage) -> threading.Event:
        try:
            return self._stages[stage]
        except KeyError:
            raise ValueError(f"stage must be one of {', '.join(map(repr, _STAGES))}, got {stage!r}") from None

    def _check_not_ended(self, stage: ReadyStage) -> None:
        if self._open_error is not None:
            raise self._open_error
        if self._close_requested:
            raise WindowClosed(f"window {self.label!r} closed before it reached {stage!r}")

    @property
    def native_id(self) -> int | None:
        """The open window's native id, for a host application to embed it (on Linux its
        X11 window id; None on another display server, or when the window is not open)."""
        window = self._window
        return window.native_id if window is not None else None

    def focus(self) -> None:
        """Give the page the keyboard focus (from any thread). For an embedded window (see
        ``parent``), which no window manager focuses: a click in the page does it too.
        Raises `WindowClosed` when the window is not open."""
        window = self._window
        if window is None:
            raise WindowClosed("the window is not open")
        window.focus()

    @property
    def has_focus(self) -> bool:
        """The window has the keyboard focus."""
        return self._has_focus and self.is_open

    def set_visible(self, visible: bool) -> None:
        """Show or hide the open window (from any thread). Raises `WindowClosed` when it is
        not open."""
        window = self._window
        if window is None:
            raise WindowClosed("the window is not open")
        window.set_visible(visible)

    @property
    def is_open(self) -> bool:
        return self._window is not None and not self._window.closed

    @property
    def is_crashed(self) -> bool:
        """The page's renderer ended and the page has not loaded again since (a window
        with ``on_crash="notify"`` stays so until `reload()`)."""
        return self._window is not None and self._window.crashed

    @property
    def connection(self) -> int | None:
        """The router connection serving the current page (changes on reload)."""
        return self._window.connection if self._window is not None else None

    def stats(self) -> dict[str, int]:
        """The app's router counters and waits (`App.stats`), plus this window's
        ``refused_origin`` and ``dropped_before_ready``."""
        stats = self.app.stats()
        window = self._window
        if window is not None:
            stats["refused_origin"] = window.refused
            stats["dropped_before_ready"] = window.dropped
        return stats

    def security_snapshot(self) -> dict[str, Any]:
        """What the open window is actually configured with, read back from WebKit:
        devtools (``developer_extras``), file-URL access, how the page is served and its
        CSP, the navigation, new-window and IPC policies, and the WebKitGTK version."""
        window = self._window
        if window is None:
            raise WindowClosed("the window is not open")
        snapshot: dict[str, Any] = json.loads(window.inspect())
        snapshot["webkit_version"] = _core.webkit_version()
        return snapshot

    def _on_window_events(self) -> None:
        window = self._window
        if window is None:
            return
        for event in window.take_events():
            match event:
                case ("closed",):
                    if self._closed_future is not None:
                        _set_if_pending(self._closed_future)
                case ("loading", url):
                    if not self._loaded_once:
                        # The first document: evaluations asked before it are held by the
                        # core and run once it commits (this event); none is dropped.
                        self._loaded_once = True
                        continue
                    # WebKit drops evaluations pending when a new document starts loading.
                    evals, self._evals = self._evals, {}
                    for eval_loop, fut in evals.values():
                        eval_loop.call_soon_threadsafe(
                            _fail_if_pending, fut, PageNavigated(f"the page started loading {url}")
                        )
                case ("eval", eval_id, result, why, failure):
                    entry = self._evals.pop(eval_id, None)
                    if entry is not None:
                        eval_loop, fut = entry
                        if why is None:
                            eval_loop.call_soon_threadsafe(_resolve_eval, fut, result)
                        else:
                            error: Exception = (
                                PageCrashed(f"the page's renderer ended during the evaluation: {why}")
                                if failure == "crashed"
                                else PageNavigated(f"not evaluated: {why}")
                                if failure == "dropped"
                                else JavaScriptError(why)
                            )
                            eval_loop.call_soon_threadsafe(_fail_if_pending, fut, error)
                case ("crashed", reason, reloading):
                    log = logging.getLogger("auroraview")
                    log.warning(
                        "window %r: the page's renderer ended (%s); %s",
                        self.label,
                        reason,
                        "loading the page again" if reloading else f"on_crash={self.on_crash!r}: not reloading",
                    )
                    evals, self._evals = self._evals, {}
                    for eval_loop, fut in evals.values():
                        crashed = PageCrashed(f"the page's renderer ended ({reason})")
                        eval_loop.call_soon_threadsafe(_fail_if_pending, fut, crashed)
                    self._fault(PageFault("crashed", reason, None, reloading))
                case ("blocked", url):
                    logging.getLogger("auroraview").warning(
                        "window %r: refused to navigate to %s (origin not allowed)", self.label, url
                    )
                    self._fault(PageFault("blocked", "origin_not_allowed", url))
                case ("loaded", _):
                    self._stages["loaded"].set()
                case ("bridge_ready",):
                    self._stages["bridge"].set()
                case ("shown",):
                    self._stages["shown"].set()
                case ("focus", focused):
                    self._has_focus = focused
                case _:
                    pass

    def _fault(self, fault: PageFault) -> None:
        for callback in self._on_fault:
            try:
                result = callback(fault)
                if asyncio.iscoroutine(result):
                    task = asyncio.get_running_loop().create_task(result)
                    self._fault_tasks.add(task)
                    task.add_done_callback(self._fault_tasks.discard)
            except Exception:  # a callback must not break the window
                logging.getLogger("auroraview").exception("on_fault callback failed")


def _set_if_pending(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _fail_if_pending(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _resolve_eval(fut: asyncio.Future[Any], result: str | None) -> None:
    if fut.done():
        return
    try:
        fut.set_result(json.loads(result) if result else None)
    except ValueError:
        fut.set_result(result)


class AuroraView(WebView):
    """The seeds' entry point: ``AuroraView(url=..., api=obj)`` exposes ``obj``'s public
    methods as ``auroraview.api.<method>``."""

    def __init__(
        self, url: str | None = None, html: str | None = None, *, api: object | None = None, **kwargs: Any
    ) -> None:
        super().__init__(kwargs.pop("title", "auroraview"), url, html, **kwargs)
        if api is not None:
            self.bind_api(api, namespace="api")
