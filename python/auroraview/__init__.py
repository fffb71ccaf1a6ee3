"""auroraview: Python desktop apps whose UI is a web page, with typed async IPC."""

from ._core import PROTOCOL_VERSION, __version__
from .app import App, EventTarget
from .commands import Command, Commands, EventDecl, EventHandler
from .errors import (
    ERROR_CODES,
    AuroraViewError,
    ErrorCode,
    GuiUnavailable,
    InvokeError,
    InvokeException,
    PageNavigated,
    WindowClosed,
    WindowError,
)
from .webview import AuroraView, WebView

__all__ = [
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "App",
    "AuroraView",
    "AuroraViewError",
    "Command",
    "Commands",
    "ErrorCode",
    "EventDecl",
    "EventHandler",
    "EventTarget",
    "GuiUnavailable",
    "InvokeError",
    "InvokeException",
    "PageNavigated",
    "WebView",
    "WindowClosed",
    "WindowError",
    "__version__",
]
