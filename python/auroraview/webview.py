"""`WebView`: a window's configuration and its registry.

The native window (show, run_async, close, eval_js) lands with the window host; today a
`WebView` holds its options and its `Commands`, and can be served through `TestClient`.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from .commands import Commands

__all__ = ["WebView"]

F = TypeVar("F", bound=Callable[..., Any])


class WebView:
    """A window whose page talks to this process. Decorators register on its `commands`."""

    def __init__(
        self,
        title: str = "auroraview",
        url: str | None = None,
        html: str | None = None,
        *,
        width: int = 1024,
        height: int = 768,
        resizable: bool = True,
        debug: bool = False,
        commands: Commands | None = None,
    ) -> None:
        if url is not None and html is not None:
            raise ValueError("pass either url= or html=, not both")
        self.title = title
        self.url = url
        self.html = html
        self.width = width
        self.height = height
        self.resizable = resizable
        self.debug = debug
        self.commands = commands if commands is not None else Commands()

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

    def emit(self, event: str, payload: Any = None) -> None:
        """See `Commands.emit`."""
        self.commands.emit(event, payload)
