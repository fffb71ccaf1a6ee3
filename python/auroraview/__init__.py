"""auroraview: Python desktop apps whose UI is a web page, with typed async IPC."""

import importlib
from typing import TYPE_CHECKING, Any

from . import _load  # noqa: F401  # pyright: ignore[reportUnusedImport]  # first: picks the `_core` this machine can load
from ._core import PROTOCOL_VERSION, __version__
from .app import App, EventTarget, MainThread
from .channel import STREAM_WINDOW, STREAM_WINDOW_BYTES, Channel, ChannelClosed
from .commands import Command, Commands, EventDecl, EventHandler, HandlerThread
from .context import CallContext
from .errors import (
    ERROR_CODES,
    AuroraViewError,
    ErrorCode,
    GuiUnavailable,
    InvokeError,
    InvokeException,
    JavaScriptError,
    PageCrashed,
    PageNavigated,
    WindowClosed,
    WindowError,
)
from .mainthread import CallableExecutor, MainThreadExecutor, MainThreadUnavailable, PumpExecutor, QtExecutor
from .server import Server
from .topics import Rule, Topic, TopicsUnavailable
from .webview import AuroraView, PageFault, ReadyStage, WebView, gui_mode

if TYPE_CHECKING:
    from .children import ChildContext, ChildManager, NotAChildError
    from .client import AsyncClient, AuthenticationError, Client, ConnectError, connect, connect_async

# The network client and child processes import `websockets`: loaded on first use, so that
# `import auroraview` stays as light as it was for apps that never touch the network.
_LAZY = {
    "connect": "client",
    "connect_async": "client",
    "Client": "client",
    "AsyncClient": "client",
    "ConnectError": "client",
    "AuthenticationError": "client",
    "ChildContext": "children",
    "ChildManager": "children",
    "NotAChildError": "children",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'auroraview' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "ERROR_CODES",
    "PROTOCOL_VERSION",
    "STREAM_WINDOW",
    "STREAM_WINDOW_BYTES",
    "App",
    "AsyncClient",
    "AuroraView",
    "AuroraViewError",
    "AuthenticationError",
    "CallContext",
    "CallableExecutor",
    "Channel",
    "ChannelClosed",
    "ChildContext",
    "ChildManager",
    "Client",
    "Command",
    "Commands",
    "ConnectError",
    "ErrorCode",
    "EventDecl",
    "EventHandler",
    "EventTarget",
    "GuiUnavailable",
    "HandlerThread",
    "InvokeError",
    "InvokeException",
    "JavaScriptError",
    "MainThread",
    "MainThreadExecutor",
    "MainThreadUnavailable",
    "NotAChildError",
    "PageCrashed",
    "PageFault",
    "PageNavigated",
    "PumpExecutor",
    "QtExecutor",
    "ReadyStage",
    "Rule",
    "Server",
    "Topic",
    "TopicsUnavailable",
    "WebView",
    "WindowClosed",
    "WindowError",
    "__version__",
    "connect",
    "connect_async",
    "gui_mode",
]
