"""The Rust core of auroraview (private; use the ``auroraview`` package)."""

import os
from collections.abc import Sequence
from typing import Any, Literal, final

__all__ = [
    "CONTRACT_VERSION",
    "DEFAULT_LIMITS",
    "ERROR_CODES",
    "ERROR_NAMES",
    "MAX_SAFE_INTEGER",
    "PROTOCOL_VERSION",
    "WINDOW_SUPPORT",
    "AuroraViewError",
    "Connection",
    "Core",
    "EchoServer",
    "GuiUnavailable",
    "JavaScriptError",
    "PageCrashed",
    "PageNavigated",
    "Server",
    "Target",
    "Window",
    "WindowClosed",
    "WindowError",
    "__version__",
    "check_js_safe",
    "decode_frame",
    "encode_frame",
    "generate_token",
    "generate_typescript",
    "gui_context_owned",
    "gui_iterate",
    "gui_mode",
    "gui_running",
    "release_focus",
    "shutdown_gui",
    "webkit_version",
]

__version__: str
PROTOCOL_VERSION: int
#: The contract document's layout version (the TypeScript generator's).
CONTRACT_VERSION: int
MAX_SAFE_INTEGER: int
ERROR_CODES: list[str]
#: The ``error.name`` of the framework's own errors, by code.
ERROR_NAMES: dict[str, str]
DEFAULT_LIMITS: dict[str, int]

# Type aliases for the checkers only (no such objects at runtime, hence private).

#: A work item of ``Core.take()``: a call, an event, a cancellation, a stream acknowledgement, or a
#: publication of a topic the host subscribed to (topic, epoch, offset, data).
#: A call's last member is its attachments (docs/binary.md): None when it came on a route
#: that cannot carry a binary reply (a window page's message path), else a list (maybe empty).
_Op = (
    tuple[Literal[0], int, int, bytes, int, list[bytes] | None]
    | tuple[Literal[1], int, str, bytes, str | None]
    | tuple[Literal[2], int]
    | tuple[Literal[3], int, int]
    | tuple[Literal[4], str, str, int, bytes]
)
#: What ``Connection.send()`` did with a message: a call accepted (its reply follows) or answered at
#: once carries the call's id; the other kinds carry None.
_Receipt = (
    tuple[Literal["accepted", "replied"], int | str]
    | tuple[Literal["event", "cancel", "ready", "hello", "refused", "dropped"], None]
)
#: None (every connection), a connection id, or ("window", label) / ("transport", kind) /
#: ("child", id) / ("conn", id).
_Target = int | tuple[Literal["window", "transport", "child", "peer"], str] | tuple[Literal["conn"], int] | None
#: A window event of ``Window.take_events()``.
_WindowEvent = (
    tuple[Literal["loading", "loaded", "blocked"], str]
    | tuple[Literal["eval"], int, str | None, str | None, Literal["thrown", "crashed", "dropped"] | None]
    | tuple[Literal["crashed"], str, bool]
    | tuple[Literal["focus"], bool]
    | tuple[Literal["closed", "bridge_ready", "shown"]]
)

#: False in the build without the window part (loaded where WebKitGTK is missing).
WINDOW_SUPPORT: bool

class AuroraViewError(Exception):
    """Base class of every error auroraview raises."""

class GuiUnavailable(AuroraViewError):
    """The GUI cannot start in this process (no display, or the GTK main context is owned elsewhere)."""

class WindowError(AuroraViewError):
    """A window or its webview could not be created."""

class WindowClosed(AuroraViewError):
    """The window is closed (or was never opened)."""

class PageNavigated(AuroraViewError):
    """A script evaluation was dropped because the page loaded another document."""

class PageCrashed(AuroraViewError):
    """The page's renderer process ended before a script evaluation finished, or the page has not been loaded again since."""

class JavaScriptError(AuroraViewError):
    """A script evaluated in the page threw (the message is WebKit's)."""

@final
class Core:
    """An app's router with its dispatch queue: one per app, shared by all its transports."""

    def __new__(
        cls,
        *,
        max_message_bytes: int | None = None,
        max_depth: int | None = None,
        max_container_items: int | None = None,
        max_in_flight: int | None = None,
        max_name_bytes: int | None = None,
        max_id_bytes: int | None = None,
        max_backlog_events: int | None = None,
        max_binary_bytes: int | None = None,
    ) -> Core: ...
    def fileno(self) -> int:
        """Descriptor that becomes readable when ``take()`` has work."""
    def register(
        self,
        name: str,
        method_id: int,
        timeout: float | None = None,
        transports: tuple[str, ...] | list[str] | None = None,
        origins: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        """Register a command name under ``method_id``, the id ``take()`` reports for its calls;
        ``transports`` and ``origins`` are its access rules."""
    def take(self, max: int = ..., wait_us: int = 0) -> list[_Op]:
        """Up to ``max`` queued work items: ``(0, key, method_id, params, conn, blobs)`` calls (``blobs``: the call's
        attachments, or None when its reply cannot carry any), ``(1, conn, name, detail, child)``
        events, ``(2, key)`` cancellations, ``(3, key, seq)`` stream acknowledgements. With ``wait_us``, an empty queue is watched that long (spinning,
        without the GIL) before returning an empty list."""
    def complete(self, key: int, result: bytes, blobs: list[bytes] | None = None) -> bool:
        """Answer call ``key`` with JSON bytes; False if it was already answered. With ``blobs`` (only for a call
        whose ``take()`` tuple had a list), a binary frame whose ``result`` may hold ``{"$bin": i}`` placeholders
        (the bytes are not copied)."""
    def fail(self, key: int, name: str, code: str, message: str, data: bytes | None = None) -> bool:
        """Answer call ``key`` with an error; False if it was already answered."""
    def item(self, key: int, seq: int, item: bytes) -> bool:
        """Send item ``seq`` (JSON bytes) of stream or channel call ``key``; False when the call
        is no longer in flight (or the item ended it): stop producing."""
    def topic_subscribe(
        self,
        key: int,
        topic: str,
        history: int,
        history_ttl: float,
        history_bytes: int,
        since_epoch: str | None = None,
        since_offset: int | None = None,
    ) -> bool:
        """Subscribe the caller of call ``key`` to ``topic``, answer the call with its position and
        replay what ``since`` recovers (docs/topics.md); False when the call is no longer in flight."""
    def topic_declare(self, topic: str, history: int, history_ttl: float, history_bytes: int) -> None:
        """Topic ``topic`` is declared by the app: made now, never forgotten while idle."""
    def topic_unsubscribe(self, conn: int, topic: str) -> bool:
        """Unsubscribe connection ``conn`` from ``topic``; whether it was subscribed."""
    def topic_publish(self, topic: str, data: bytes, history: int, history_ttl: float, history_bytes: int) -> tuple[str, int]:
        """Publish JSON ``data`` on ``topic``: ``(epoch, offset)`` once queued to every subscriber."""
    def topic_publish_call(
        self, key: int, topic: str, data: bytes, history: int, history_ttl: float, history_bytes: int
    ) -> None:
        """Publish ``data`` for call ``key`` (through the broker when there is one); the core
        answers the call with ``{epoch, offset}`` or the error."""
    def topic_host(self, topic: str, on: bool, history: int, history_ttl: float, history_bytes: int) -> None:
        """The host subscribes to ``topic`` (``on``) or stops."""
    def connect_broker(self, url: str, prefix: str) -> None:
        """Share the app's topics through the broker at ``url`` under ``prefix``."""
    def broker_status(self) -> dict[str, Any] | None:
        """The broker link's status; None without a broker."""
    def close_broker(self) -> None:
        """Stop the broker link."""
    def topic_presence(self, topic: str) -> tuple[list[int], str, int] | None:
        """``(connections subscribed, epoch, last offset)`` of ``topic``; None for a topic never used."""
    def emit(self, name: str, payload: bytes, target: _Target | Target = None) -> int:
        """Push an event to the connections ``target`` matches; how many got it (0: held
        for a connection to come, or for one that is gone)."""
    @property
    def held_dropped(self) -> int:
        """Held events dropped so far because ``max_backlog_events`` were held."""
    def connect(self, *, window: str | None = None, peer: str | None = None) -> Connection:
        """Open an in-process connection (standing in for window ``window``, if given)."""
    def conn_info(self, conn: int) -> dict[str, Any] | None:
        """The identity of open connection ``conn``: ``id``, ``transport``, ``window``, ``origin``, ``peer``."""
    def connections(self) -> list[dict[str, Any]]:
        """Every open connection's identity, oldest first."""
    def shutdown(self) -> None:
        """Answer every call in flight ``shutting_down`` and refuse new ones."""
    @property
    def in_flight(self) -> int: ...
    @property
    def held(self) -> int:
        """Events held for connections that have not connected yet."""
    def stats(self) -> dict[str, int]: ...
    def limits(self) -> dict[str, int]: ...

@final
class Target:
    """An event target parsed once, for ``Core.emit``."""

    def __new__(cls, target: _Target = None) -> Target: ...

@final
class Connection:
    """An in-process client connection to a ``Core``."""

    @property
    def id(self) -> int: ...
    def info(self) -> dict[str, Any] | None:
        """This connection's identity (None once closed)."""
    def fileno(self) -> int: ...
    def send(self, data: bytes) -> _Receipt:
        """Route one raw message exactly as a transport would."""
    def send_frame(self, frame: bytes) -> _Receipt:
        """Route one binary frame (docs/binary.md), as a binary WebSocket message would be."""
    def take(self, max: int = ...) -> list[bytes]:
        """Up to ``max`` frames sent to this connection since the last call, oldest first: JSON texts, and
        binary frames (they start with ``b"\\x00"``, which no JSON text does)."""
    def close(self) -> None: ...

@final
class Window:
    """A native window (WebKitGTK on Linux) whose page talks to ``core``."""

    def __new__(
        cls,
        core: Core,
        *,
        label: str,
        title: str,
        url: str | None = None,
        assets: str | os.PathLike[str] | None = None,
        html: str | None = None,
        width: float = 1024.0,
        height: float = 768.0,
        resizable: bool = True,
        visible: bool = True,
        debug: bool = False,
        csp: str | None = None,
        on_crash: Literal["reload", "close", "notify"] = "reload",
        parent: int | None = None,
        embedded: bool = False,
    ) -> Window: ...
    @property
    def key(self) -> int: ...
    @property
    def connection(self) -> int:
        """The connection id serving the page (changes when the page reloads)."""
    @property
    def closed(self) -> bool: ...
    @property
    def refused(self) -> int:
        """IPC messages refused because of their origin."""
    @property
    def dropped(self) -> int:
        """Frames dropped while held for a page that never became ready."""
    def fileno(self) -> int: ...
    @property
    def crashed(self) -> bool:
        """The renderer ended and the page has not been loaded again since."""
    def take_events(self) -> list[_WindowEvent]:
        """``("loading", url)``, ``("loaded", url)``, ``("bridge_ready",)``, ``("shown",)``, ``("eval", id, json, None, None)`` or
        ``("eval", id, None, why, "thrown" | "crashed" | "dropped")``, ``("crashed", reason, reloading)``, ``("blocked", url)``,
        ``("closed",)``."""
    def eval(self, id: int, js: str) -> None:
        """Evaluate ``js``; the result arrives as an ``"eval"`` event. Raises `WindowClosed`,
        or `PageCrashed` while the renderer is gone."""
    def reload(self) -> None:
        """Load the page again. Raises `WindowClosed`."""
    def inspect(self) -> str:
        """The webview's security-relevant configuration (JSON), read back from WebKit."""
    @property
    def native_id(self) -> int | None:
        """The window's X11 window id (to embed it in a host's window); None off X11."""
    def set_visible(self, visible: bool) -> None:
        """Show or hide the window. Raises `WindowClosed`."""
    def focus(self) -> None:
        """Give the page the keyboard focus. Raises `WindowClosed`."""
    def close(self) -> None: ...

def check_js_safe(data: bytes, root: str) -> None:
    """Raise ``ValueError`` when JSON ``data`` holds an integer beyond ±(2^53-1)."""

def encode_frame(message: bytes, blobs: Sequence[bytes]) -> bytes:
    """A binary frame (docs/binary.md) of JSON ``message`` and attachments ``blobs``."""

def decode_frame(frame: bytes) -> tuple[bytes, list[bytes]]:
    """A binary frame's JSON message and attachments; ``ValueError`` when it is malformed."""

def shutdown_gui(timeout: float = 2.0) -> bool:
    """Close every window and stop the GUI thread."""

def gui_running() -> bool: ...
def gui_mode() -> Literal["own", "host"] | None:
    """Who runs the windows: our GUI thread's loop, a host's GLib loop (Qt's), or None yet."""

def gui_iterate(timeout: float) -> bool:
    """On the thread that owns GLib's default main context: run it ``timeout`` seconds, True.
    Else False at once."""

def release_focus(xid: int) -> None:
    """Give the keyboard focus to ``xid``, a host's X11 window (from an embedded page)."""

def gui_context_owned() -> bool:
    """This thread owns GLib's default main context (a Qt application's main thread)."""

def webkit_version() -> str:
    """The WebKitGTK version in use, e.g. ``"2.50.1"``."""

def generate_typescript(contract_json: str, source: str) -> str:
    """TypeScript bindings for a contract document (JSON text)."""

@final
class Server:
    """A running WebSocket + HTTP server joined to a core's router (docs/network.md)."""

    def __new__(
        cls,
        core: Core,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        assets: str | os.PathLike[str] | None = None,
        csp: str | None = None,
        origins: list[str] = ...,
        expose: Literal["all", "declared"] = "declared",
        heartbeat: float = 15.0,
        heartbeat_timeout: float = 10.0,
        max_outbound_bytes: int = ...,
        max_connections: int = 10000,
        metrics: bool = False,
    ) -> Server: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def token(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def add_token(self, token: str, *, transport: str = "child", peer: str | None = None) -> None:
        """Let connections presenting ``token`` in as ``transport`` with identity ``peer``."""
    def revoke_token(self, token: str) -> bool:
        """Stop accepting ``token``; its connections are closed with 4003."""
    def stats(self) -> dict[str, int]:
        """The server's counters."""
    def stats_json(self) -> str:
        """Server, router, connection and per-command counters as JSON text."""
    def metrics_text(self) -> str:
        """The Prometheus text served at ``/__auroraview/metrics``."""
    def close(self, wait: float = 5.0) -> None:
        """Stop listening and close every connection (1001)."""

@final
class EchoServer:
    """A bare WebSocket echo on the server's stack (the benchmark's floor)."""

    def __new__(cls, host: str = "127.0.0.1", port: int = 0) -> EchoServer: ...
    @property
    def port(self) -> int: ...
    def close(self) -> None: ...

def generate_token() -> str:
    """A new random token (32 bytes, base64url)."""
