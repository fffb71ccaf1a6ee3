"""The Rust core of auroraview (private; use the ``auroraview`` package)."""

from typing import Any, Literal

__version__: str
PROTOCOL_VERSION: int
MAX_SAFE_INTEGER: int
ERROR_CODES: list[str]
DEFAULT_LIMITS: dict[str, int]

Op = tuple[Literal[0], int, int, bytes, int] | tuple[Literal[1], int, str, bytes] | tuple[Literal[2], int]
Receipt = tuple[
    Literal["accepted", "replied", "event", "cancel", "ready", "hello", "refused", "dropped"], int | str | None
]
#: None (every connection), a connection id, or ("window", label) / ("transport", kind) / ("conn", id).
Target = int | tuple[str, str | int] | None

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

class Core:
    """An app's router with its dispatch queue: one per app, shared by all its transports."""

    def __init__(
        self,
        *,
        max_message_bytes: int | None = None,
        max_depth: int | None = None,
        max_container_items: int | None = None,
        max_in_flight: int | None = None,
        max_name_bytes: int | None = None,
        max_id_bytes: int | None = None,
        max_backlog_events: int | None = None,
    ) -> None: ...
    def fileno(self) -> int:
        """Descriptor that becomes readable when ``take()`` has work."""
    def register(self, name: str, method_id: int, timeout: float | None = None) -> None:
        """Register a command name under ``method_id``, the id ``take()`` reports for its calls."""
    def take(self, max: int = ..., wait_us: int = 0) -> list[Op]:
        """Up to ``max`` queued work items: ``(0, key, method_id, params, conn)`` calls, ``(1, conn, name, detail)``
        events, ``(2, key)`` cancellations. With ``wait_us``, an empty queue is watched that long (spinning,
        without the GIL) before returning an empty list."""
    def complete(self, key: int, result: bytes) -> bool:
        """Answer call ``key`` with JSON bytes; False if it was already answered."""
    def fail(self, key: int, name: str, code: str, message: str, data: bytes | None = None) -> bool:
        """Answer call ``key`` with an error; False if it was already answered."""
    def emit(self, name: str, payload: bytes, target: Target = None) -> tuple[int, bool, bool]:
        """Push an event to the connections ``target`` matches: ``(delivered, held, dropped)``."""
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

class Connection:
    """An in-process client connection to a ``Core``."""

    @property
    def id(self) -> int: ...
    def info(self) -> dict[str, Any] | None:
        """This connection's identity (None once closed)."""
    def fileno(self) -> int: ...
    def send(self, data: bytes) -> Receipt:
        """Route one raw message exactly as a transport would."""
    def take(self, max: int = ...) -> list[bytes]:
        """Up to ``max`` frames sent to this connection since the last call, oldest first."""
    def close(self) -> None: ...


class Window:
    """A native window (WebKitGTK on Linux) whose page talks to ``core``."""

    def __init__(
        self,
        core: Core,
        *,
        label: str,
        title: str,
        url: str | None = None,
        assets: str | None = None,
        html: str | None = None,
        width: float = 1024.0,
        height: float = 768.0,
        resizable: bool = True,
        visible: bool = True,
        debug: bool = False,
        csp: str | None = None,
    ) -> None: ...
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
    def take_events(self) -> list[tuple[str] | tuple[str, str] | tuple[str, int, str]]:
        """``("loading", url)``, ``("loaded", url)``, ``("eval", id, json)``, ``("closed",)``."""
    def eval(self, id: int, js: str) -> None:
        """Evaluate ``js``; the result arrives as ``("eval", id, json)``. Raises `WindowClosed`."""
    def inspect(self) -> str:
        """The webview's security-relevant configuration (JSON), read back from WebKit."""
    def close(self) -> None: ...

def check_js_safe(data: bytes, root: str) -> None:
    """Raise ``ValueError`` when JSON ``data`` holds an integer beyond ±(2^53-1)."""

def shutdown_gui(timeout: float = 2.0) -> bool:
    """Close every window and stop the GUI thread."""

def gui_running() -> bool: ...
def webkit_version() -> str:
    """The WebKitGTK version in use, e.g. ``"2.50.1"``."""

def generate_typescript(contract_json: str, source: str) -> str:
    """TypeScript bindings for a contract document (JSON text)."""
