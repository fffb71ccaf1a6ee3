"""`Server`: an app served over the network (docs/network.md).

``app.serve()`` starts one: HTTP for the app's assets and one WebSocket endpoint carrying
the wire protocol, joined to the app's router like a window (same limits, error codes and
one reply per call). Its handlers run on the app's runtime, which the server keeps running
(it attaches like a window) until `Server.close`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import json
import threading
import warnings
from typing import TYPE_CHECKING, Any, Literal

from . import _core

if TYPE_CHECKING:
    from .app import App

__all__ = ["Server", "is_loopback", "run_on", "warn_if_exposed"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Server:
    """A running server of an app. Use `App.serve` to start one."""

    def __init__(self, app: App, core: _core.Server, *, expose: Literal["all", "declared"]) -> None:
        self.app = app
        self._core = core
        self.expose: Literal["all", "declared"] = expose
        self._closed = threading.Event()
        self._detached = False
        #: The `KeyboardInterrupt` or `SystemExit` a handler raised, which closed this server:
        #: `serve_forever` raises it again.
        self._fatal: BaseException | None = None

    # -- where ---------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._core.host

    @property
    def port(self) -> int:
        return self._core.port

    @property
    def token(self) -> str:
        """The secret a client needs (keep it out of logs and command lines)."""
        return self._core.token

    @property
    def _authority(self) -> str:
        host = self.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL to open in a browser: it carries the token once (the server moves it into
        a cookie and redirects to the same page without it)."""
        return f"http://{self._authority}/?token={self.token}"

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint (clients authenticate with the token)."""
        return f"ws://{self._authority}/__auroraview/ws"

    # -- tokens for children ---------------------------------------------------------

    def add_token(self, token: str, *, transport: Literal["child", "network"] = "child", peer: str | None = None) -> None:
        """Let connections presenting ``token`` in as ``transport`` with identity ``peer``
        (a child process's id: its connection then matches ``to=("child", peer)``)."""
        self._core.add_token(token, transport=transport, peer=peer)

    def revoke_token(self, token: str) -> bool:
        """Stop accepting ``token``; connections that used it are closed (4003)."""
        return self._core.revoke_token(token)

    # -- inspection -------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters: ``server`` (connections, refusals, frames, queued bytes), ``router``,
        ``connections`` (open, by transport) and ``commands`` (calls, errors by code)."""
        return json.loads(self._core.stats_json())

    def metrics_text(self) -> str:
        """The Prometheus text format of the same counters (per-command latency histograms)."""
        return self._core.metrics_text()

    # -- end --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening and close every connection (1001; their calls in flight are
        cancelled); the app's runtime stops if nothing else uses it. From any thread."""
        if self._closed.is_set():
            return
        self._core.close(timeout)
        self._closed.set()
        self.app._server_closed(self, timeout)

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until `close` (from another thread, a signal handler...)."""
        return self._closed.wait(timeout)

    def serve_forever(self) -> None:
        """Block until Ctrl-C (or `close` from elsewhere), then close. When a handler raised
        `SystemExit` or `KeyboardInterrupt` (which closes the app's servers), raise it again
        here, so ``sys.exit(3)`` in a handler ends the program with status 3."""
        try:
            while not self._closed.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.close()
        fatal, self._fatal = self._fatal, None
        if fatal is not None:
            raise fatal

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "serving"
        return f"<auroraview.Server {state} ws://{self._authority}/__auroraview/ws expose={self.expose}>"


def run_on(loop: asyncio.AbstractEventLoop, fn: Any, timeout: float | None = None) -> Any:
    """Run ``fn()`` on ``loop`` (from any thread) and return its result."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        return fn()
    fut: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        try:
            fut.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            fut.set_exception(exc)

    loop.call_soon_threadsafe(run)
    return fut.result(timeout)


def warn_if_exposed(host: str) -> None:
    if not is_loopback(host):
        warnings.warn(
            f"auroraview: serving on {host}, reachable from other machines; anyone who gets the token can call "
            "the exposed commands (serve on 127.0.0.1 unless you mean it)",
            RuntimeWarning,
            stacklevel=3,
        )
