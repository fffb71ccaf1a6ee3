"""Errors: what handlers raise (`InvokeException`), what callers receive (`InvokeError`, a
subclass of it: ``except InvokeException`` catches both), and the framework's own exceptions,
all under `AuroraViewError` but `InvokeException` (a handler's message to its caller, not an
error of the framework; `InvokeError` is both)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, get_args

from . import _core
from ._core import (
    AuroraViewError,
    GuiUnavailable,
    JavaScriptError,
    PageCrashed,
    PageNavigated,
    WindowClosed,
    WindowError,
)

__all__ = [
    "ERROR_CODES",
    "ERROR_NAMES",
    "AuroraViewError",
    "ErrorCode",
    "GuiUnavailable",
    "InvokeError",
    "InvokeException",
    "JavaScriptError",
    "PageCrashed",
    "PageNavigated",
    "WindowClosed",
    "WindowError",
]

#: The framework's own error codes (the closed set; handlers may add their own).
ErrorCode = Literal[
    "invalid_message",
    "method_not_found",
    "invalid_params",
    "handler_error",
    "internal",
    "timeout",
    "cancelled",
    "payload_too_large",
    "forbidden",
    "overloaded",
    "shutting_down",
    "disconnected",
    "unavailable",
]
ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)
#: The ``error.name`` the framework gives each of its codes (chosen once, in the Rust core).
ERROR_NAMES: dict[str, str] = dict(_core.ERROR_NAMES)

if ERROR_CODES != tuple(_core.ERROR_CODES):  # pragma: no cover - caught by tests/python/test_errors.py
    raise ImportError("auroraview: Python and Rust error-code lists differ; rebuild the extension")


class InvokeException(Exception):
    """Raise from a command handler to send a structured error to the caller.

    The caller receives ``{name, code, message, data}``: ``name`` defaults to the exception
    class name (so subclasses are told apart), ``code`` to the class's ``code``
    (``"handler_error"`` unless a subclass sets another), and ``data`` is any value pydantic
    can serialize (a model, a dict, ...).

    Subclasses declared on a command (``@commands.command(errors=[NameTaken])``) appear in
    its contract; set ``code`` and ``data_type`` on the subclass so the page can switch on
    them with types::

        class NameTaken(InvokeException):
            code = "name_taken"
            data_type = FieldError      # a pydantic model (or any type pydantic knows)
    """

    code: str = "handler_error"  # a subclass's default; an instance may carry another
    data_type: ClassVar[Any] = None

    def __init__(
        self,
        message: str,
        *,
        name: str | None = None,
        code: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        code = type(self).code if code is None else code
        # Checked at run time: a subclass (or an untyped caller) may give a code of another type.
        if not isinstance(code, str) or not code or len(code) > 64:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"InvokeException code must be a non-empty string of at most 64 characters, got {code!r}")
        self.message = message
        self.name = name if name is not None else type(self).__name__
        self.code = code
        self.data = data


class InvokeError(InvokeException, AuroraViewError):
    """A call that failed, as the caller sees it (raised by ``TestClient.call`` and the network
    clients' ``call``): the ``{name, code, message, data}`` the host replied with.

    It is the caller's side of an `InvokeException`: a handler raises ``NameTaken(...)`` (an
    `InvokeException` subclass), its caller gets an ``InvokeError`` with ``name ==
    "NameTaken"``; ``except InvokeException`` catches both, `matches` tells which one it was.
    Raised again inside a handler (a call that handler made failed), it is answered as any
    unexpected exception (``internal``), not passed on as the handler's own error."""

    def __init__(self, name: str, code: str, message: str, data: Any = None) -> None:
        # Not InvokeException.__init__: the four fields are the reply's, as received.
        Exception.__init__(self, f"{name} [{code}]: {message}")
        self.name = name
        self.code = code
        self.message = message
        self.data = data

    def matches(self, error: type[InvokeException]) -> bool:
        """Whether this is what a handler raising ``error`` (an `InvokeException` subclass
        with its default name and code) sends: ``e.matches(NameTaken)``."""
        return self.name == error.__name__ and self.code == error.code

    @classmethod
    def framework(cls, code: ErrorCode, message: str, data: Any = None) -> InvokeError:
        """One of the framework's own errors, named as the host names it."""
        return cls(ERROR_NAMES[code], code, message, data)

    @classmethod
    def from_wire(cls, error: dict[str, Any]) -> InvokeError:
        return cls(
            str(error.get("name", "Error")),
            str(error.get("code", "internal")),
            str(error.get("message", "")),
            error.get("data"),
        )
