"""`WebView`: a native window whose page talks to this process, and `AuroraView` (the seeds' name).

Threads: one GUI thread per process owns every window (started on first use, never takes
the GIL); each running `WebView` serves its page from an asyncio loop — the caller's under
`await run_async()`, a fresh one under `show()`, or one on a background thread under
`show(block=False)` for host applications that own their main thread.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from . import _core
from ._runtime import Runtime
from .commands import Commands

__all__ = ["AuroraView", "PageNavigated", "WebView"]

F = TypeVar("F", bound=Callable[..., Any])

_live: set[WebView] = set()
_live_lock = threading.Lock()
_atexit_registered = False


def _shutdown_all() -> None:
    """At interpreter exit: close every window and stop the GUI thread while Python is still
    whole. (Exiting with a window open otherwise aborts the process with exit code 134.)"""
    with _live_lock:
        views = list(_live)
    for view in views:
        view.close()
    for view in views:
        view._wait_closed(2.0)
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
    ``assets=`` (a folder served from ``auroraview://localhost/``, ``index.html`` by default)
    or ``html=`` (one page, served the same way).

    ``spin_us``: while the page calls back to back, the asyncio thread waits up to this many
    microseconds for the next call instead of going to sleep (see ``_runtime``), which saves
    the wake-up cost of every call in the chain. It stops as soon as calls stop coming;
    ``0`` turns it off.
    """

    def __init__(
        self,
        title: str = "auroraview",
        url: str | None = None,
        html: str | None = None,
        *,
        assets: str | os.PathLike[str] | None = None,
        width: int = 1024,
        height: int = 768,
        resizable: bool = True,
        visible: bool = True,
        debug: bool = False,
        csp: str | None = None,
        commands: Commands | None = None,
        sync_workers: int = 16,
        on_close: Callable[[], Any] | None = None,
        spin_us: int = 1000,
    ) -> None:
        if sum(x is not None for x in (url, html, assets)) > 1:
            raise ValueError("pass either url=, html= or assets=, not several")
        if assets is not None and not Path(assets).is_dir():
            raise ValueError(f"assets={os.fspath(assets)!r} is not a folder")
        self.title = title
        self.url = url
        self.html = html
        self.assets = Path(assets) if assets is not None else None
        self.width = width
        self.height = height
        self.resizable = resizable
        self.visible = visible
        self.debug = debug
        self.csp = csp
        self.sync_workers = sync_workers
        self.spin_us = spin_us
        self.commands = commands if commands is not None else Commands()
        self._on_close: list[Callable[[], Any]] = [on_close] if on_close is not None else []
        self._runtime: Runtime | None = None
        self._window: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed_future: asyncio.Future[None] | None = None
        self._opened = threading.Event()
        self._finished = threading.Event()
        self._open_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._eval_ids = itertools.count(1)
        self._evals: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._early_events: list[tuple[str, bytes]] = []
        self._close_requested = False
        # Where `emit` goes: a runtime and the connection serving this view's page.
        self._target: tuple[Runtime, Callable[[], int]] | None = None

    # -- registry -------------------------------------------------------------------

    def command(self, name: Any = None, *, timeout: float | None = None) -> Any:
        """See `Commands.command`."""
        return self.commands.command(name, timeout=timeout)

    def bind_call(self, name: str, fn: Callable[..., Any] | None = None, *, timeout: float | None = None) -> Any:
        """See `Commands.bind_call`."""
        return self.commands.bind_call(name, fn, timeout=timeout)

    def bind_api(self, obj: object, namespace: str = "api") -> list[str]:
        """See `Commands.bind_api`."""
        return self.commands.bind_api(obj, namespace)

    def on(self, event: str) -> Callable[[F], F]:
        """See `Commands.on`."""
        return self.commands.on(event)

    def on_close(self, fn: F) -> F:
        """Call ``fn()`` once the window has closed (usable as a decorator)."""
        self._on_close.append(fn)
        return fn

    # -- Python → page --------------------------------------------------------------

    def emit(self, event: str, payload: Any = None) -> None:
        """Push an event to this window's page only (``commands.emit`` reaches every window
        sharing the registry). Events emitted before the page is ready are delivered to it."""
        data = self.commands.serialize_event(event, payload)
        target = self._target
        if target is None:
            self._early_events.append((event, data))
            return
        runtime, connection = target
        runtime.core.emit(event, data, connection())

    def _serve_through(self, runtime: Runtime, connection: Callable[[], int]) -> None:
        """Route this view's `emit` to `connection` of `runtime` (a window, or a TestClient)."""
        self._target = (runtime, connection)
        for event, data in self._early_events:
            runtime.core.emit(event, data, connection())
        self._early_events.clear()

    def _unserve(self) -> None:
        self._target = None

    async def eval_js(self, code: str, *, timeout: float | None = 10.0) -> Any:
        """Evaluate ``code`` in the page and return its value (decoded from JSON).

        Raises `PageNavigated` when the page starts loading another document first (WebKit
        then drops the evaluation), and `TimeoutError` after ``timeout`` seconds."""
        window, loop = self._window, asyncio.get_running_loop()
        if window is None:
            raise RuntimeError("the window is not open")
        eval_id = next(self._eval_ids)
        fut: asyncio.Future[Any] = loop.create_future()
        self._evals[eval_id] = (loop, fut)
        window.eval(eval_id, code)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._evals.pop(eval_id, None)

    # -- running --------------------------------------------------------------------

    async def run_async(self) -> None:
        """Open the window and serve it on the running loop until it closes."""
        if self._runtime is not None:
            raise RuntimeError("this WebView is already running")
        loop = asyncio.get_running_loop()
        runtime = Runtime(self.commands, debug=self.debug, sync_workers=self.sync_workers, spin_us=self.spin_us)
        runtime.start()
        self._runtime, self._loop = runtime, loop
        self._closed_future = loop.create_future()
        self._close_requested = False
        self._finished.clear()
        try:
            self._window = _core.Window(
                runtime.core,
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
            )
            with _live_lock:
                _live.add(self)
            _register_atexit()
            window = self._window
            loop.add_reader(window.fileno(), self._on_window_events)
            self._serve_through(runtime, lambda: window.connection)
            self._opened.set()
            if self._close_requested:  # close() was called while the window was opening
                window.close()
            await self._closed_future
        except BaseException as exc:
            self._open_error = exc
            self._opened.set()
            raise
        finally:
            self._unserve()
            if self._window is not None:
                loop.remove_reader(self._window.fileno())
                self._window.close()
            await runtime.stop()
            for eval_loop, fut in self._evals.values():
                eval_loop.call_soon_threadsafe(_cancel_if_pending, fut)
            self._evals.clear()
            self._runtime = self._window = self._loop = None
            with _live_lock:
                _live.discard(self)
            self._finished.set()
            for callback in self._on_close:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - a callback must not break shutdown
                    logging.getLogger("auroraview").exception("on_close callback failed")

    def show(self, *, block: bool = True) -> None:
        """Open the window. Blocks until it closes; with ``block=False`` (for host
        applications that own their main thread) returns once it is open, serving it from a
        background thread."""
        if block:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(self.run_async())
                return
            raise RuntimeError("show() blocks the thread; inside a running event loop use `await webview.run_async()`")
        self._opened.clear()
        self._open_error = None
        self._thread = threading.Thread(target=self._serve_in_thread, name=f"auroraview:{self.title}", daemon=True)
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            raise self._open_error

    def _serve_in_thread(self) -> None:
        try:
            asyncio.run(self.run_async())
        except BaseException:  # noqa: BLE001 - reported to show() through _open_error
            self._opened.set()

    def close(self) -> None:
        """Close the window (from any thread). Calls in flight are cancelled."""
        self._close_requested = True
        window = self._window
        if window is not None:
            window.close()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until a window shown with ``block=False`` has closed."""
        return self._wait_closed(timeout)

    def _wait_closed(self, timeout: float | None) -> bool:
        if self._runtime is None and self._window is None:
            return True
        return self._finished.wait(timeout)

    async def wait_open(self, timeout: float | None = 30.0) -> None:
        """Wait until `run_async` (or `show`) has opened the window."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._window is None:
            if self._open_error is not None:
                raise self._open_error
            if deadline is not None and loop.time() > deadline:
                raise TimeoutError("the window did not open")
            await asyncio.sleep(0.005)

    @property
    def is_open(self) -> bool:
        return self._window is not None and not self._window.closed

    @property
    def connection(self) -> int | None:
        """The router connection serving the current page (changes on reload)."""
        return self._window.connection if self._window is not None else None

    def stats(self) -> dict[str, int]:
        """The router's counters for this window, plus ``refused_origin``, ``dropped_before_ready``
        and the asyncio thread's waits for the next call (``spin_hits``, ``spin_misses``)."""
        runtime, window = self._runtime, self._window
        stats = runtime.core.stats() if runtime is not None else {}
        if runtime is not None:
            stats["spin_hits"], stats["spin_misses"] = runtime.spin_hits, runtime.spin_misses
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
            raise RuntimeError("the window is not open")
        snapshot: dict[str, Any] = json.loads(window.inspect())
        snapshot["webkit_version"] = _core.webkit_version()
        return snapshot

    def _on_window_events(self) -> None:
        window = self._window
        if window is None:
            return
        for event in window.take_events():
            kind = event[0]
            if kind == "closed":
                if self._closed_future is not None:
                    _set_if_pending(self._closed_future)
            elif kind == "loading":
                # WebKit drops evaluations pending when a new document starts loading.
                evals, self._evals = self._evals, {}
                for eval_loop, fut in evals.values():
                    eval_loop.call_soon_threadsafe(_fail_if_pending, fut, PageNavigated(f"the page started loading {event[1]}"))
            elif kind == "eval":
                _, eval_id, result = event
                entry = self._evals.pop(eval_id, None)
                if entry is not None:
                    eval_loop, fut = entry
                    eval_loop.call_soon_threadsafe(_resolve_eval, fut, result)


def _set_if_pending(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class PageNavigated(RuntimeError):
    """A script evaluation was dropped because the page loaded another document."""


def _fail_if_pending(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _cancel_if_pending(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.cancel()


def _resolve_eval(fut: asyncio.Future[Any], result: str) -> None:
    if fut.done():
        return
    try:
        fut.set_result(json.loads(result) if result else None)
    except ValueError:
        fut.set_result(result)


class AuroraView(WebView):
    """The seeds' entry point: ``AuroraView(url=..., api=obj)`` exposes ``obj``'s public
    methods as ``auroraview.api.<method>``."""

    def __init__(self, url: str | None = None, html: str | None = None, *, api: object | None = None, **kwargs: Any) -> None:
        super().__init__(kwargs.pop("title", "auroraview"), url, html, **kwargs)
        if api is not None:
            self.bind_api(api, namespace="api")
