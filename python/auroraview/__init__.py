"""auroraview: Python desktop apps whose UI is a web page, with typed async IPC."""

from ._core import PROTOCOL_VERSION, __version__
from .commands import Command, Commands, EventHandler
from .errors import ERROR_CODES, ErrorCode, InvokeError, InvokeException
from .webview import AuroraView, WebView

__all__ = [
    "AuroraView",
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "Command",
    "Commands",
    "ErrorCode",
    "EventHandler",
    "InvokeError",
    "InvokeException",
    "WebView",
    "__version__",
]
