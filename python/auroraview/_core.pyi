"""The Rust core of auroraview (private; use the ``auroraview`` package)."""

from typing import Literal

__version__: str
PROTOCOL_VERSION: int
MAX_SAFE_INTEGER: int
ERROR_CODES: list[str]
DEFAULT_LIMITS: dict[str, int]

Op = tuple[Literal[0], int, int, bytes, int] | tuple[Literal[1], int, str, bytes] | tuple[Literal[2], int]
Receipt = tuple[Literal["accepted", "replied", "event", "cancel", "ready", "dropped"], int | str | None]

class Core:
    """The router with its dispatch queue: one per running app."""

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
    def emit(self, name: str, payload: bytes, conn: int | None = None) -> int:
        """Push an event to one connection or all; returns how many received it."""
    def connect(self) -> Connection:
        """Open an in-process connection."""
    def shutdown(self) -> None:
        """Answer every call in flight ``shutting_down`` and refuse new ones."""
    @property
    def in_flight(self) -> int: ...
    def stats(self) -> dict[str, int]: ...
    def limits(self) -> dict[str, int]: ...

class Connection:
    """An in-process client connection to a ``Core``."""

    @property
    def id(self) -> int: ...
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
    def eval(self, id: int, js: str) -> None: ...
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
