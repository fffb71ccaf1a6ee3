"""Topics (docs/topics.md): named, typed, ordered streams of messages with recovery.

A topic is declared on `Commands` (`commands.topic(name, PayloadType, ...)`), which gives a
`Topic`: the handle `App.publish`, `App.subscribe` and `App.presence` take (a name works too).
Who may subscribe and publish is a `Rule` (or `True`/`False`), checked per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

if TYPE_CHECKING:
    from .commands import Transport
    from .context import CallContext

__all__ = ["Rule", "Topic", "check_topic_name"]

T = TypeVar("T")

#: A topic name: `/`-separated segments of `[A-Za-z0-9_.-]`, 1 to 64 characters each.
_SEGMENT = r"[A-Za-z0-9_.\-]{1,64}"
_NAME = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_TOPIC_NAME_BYTES = 256

#: Methods every app serves for topics: the `auroraview.` prefix is reserved for them.
SUBSCRIBE = "auroraview.subscribe"
UNSUBSCRIBE = "auroraview.unsubscribe"
PUBLISH = "auroraview.publish"
RESERVED_PREFIX = "auroraview."

DEFAULT_HISTORY = 1000
DEFAULT_HISTORY_TTL = 300.0
DEFAULT_HISTORY_BYTES = 16 * 1024 * 1024


class TopicsUnavailable(ConnectionError):
    """The app's topics broker (``App(broker=...)``) is down or did not confirm a publish:
    the message was not published, unless the link broke after the broker took it (the
    message says so)."""


def check_topic_name(name: object) -> str:
    """``name`` when it is a valid topic name; `ValueError` saying why otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"a topic name is a string; got {type(name).__name__}")
    if len(name) > MAX_TOPIC_NAME_BYTES or not _NAME.fullmatch(name):
        raise ValueError(
            f"topic name {name[:80]!r} is not '/'-separated segments of letters, digits, '_', '.' or '-' "
            f"(1 to 64 each, at most {MAX_TOPIC_NAME_BYTES} characters in all)"
        )
    return name


@dataclass(frozen=True)
class Rule:
    """Who may subscribe to (or publish on) a topic: every part given must allow the
    connection. ``transports``: the transports it may come through; ``origins``: the origins
    it must come from (exactly); ``windows``: the labels of the windows whose pages may;
    ``check(ctx, topic) -> bool``: a callback deciding per request (the app itself always
    may)."""

    transports: tuple[Transport, ...] | None = None
    origins: tuple[str, ...] | None = None
    windows: tuple[str, ...] | None = None
    check: Callable[[CallContext, str], bool] | None = None

    def __init__(
        self,
        *,
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        windows: Iterable[str] | None = None,
        check: Callable[[CallContext, str], bool] | None = None,
    ) -> None:
        from .commands import TRANSPORTS

        def tup(kind: str, value: Iterable[str] | None, allowed: tuple[str, ...] | None = None) -> tuple[Any, ...] | None:
            if value is None:
                return None
            items = (value,) if isinstance(value, str) else tuple(value)
            for item in items:
                if not isinstance(item, str) or (allowed is not None and item not in allowed):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
                    want = f"one of {allowed}" if allowed else "a string"
                    raise ValueError(f"Rule({kind}=...): {item!r} is not {want}")
            return items

        object.__setattr__(self, "transports", tup("transports", transports, TRANSPORTS))
        object.__setattr__(self, "origins", tup("origins", origins))
        object.__setattr__(self, "windows", tup("windows", windows))
        if check is not None and not callable(check):
            raise TypeError(f"Rule(check=...) takes a callable (ctx, topic) -> bool; got {check!r}")
        object.__setattr__(self, "check", check)

    def allows(self, ctx: CallContext, topic: str) -> bool:
        """Whether the connection of ``ctx`` may (the callback runs last, only when the rest
        allow)."""
        if self.transports is not None and ctx.transport not in self.transports:
            return False
        if self.origins is not None and ctx.origin not in self.origins:
            return False
        if self.windows is not None and (ctx.transport != "window" or ctx.window not in self.windows):
            return False
        return self.check is None or bool(self.check(ctx, topic))


#: What `subscribe=` and `publish=` take.
Access = bool | Rule


@dataclass(frozen=True)
class Topic(Generic[T]):
    """A declared topic: its name, payload type, history and rules."""

    name: str
    payload: TypeAdapter[T]
    history: int = DEFAULT_HISTORY
    history_ttl: float = DEFAULT_HISTORY_TTL
    history_bytes: int = DEFAULT_HISTORY_BYTES
    subscribe: Access = True
    publish: Access = False
    doc: str | None = None
    #: Declared (False: an undeclared topic of an app with ``open_topics``).
    declared: bool = True

    def serialize(self, value: Any) -> bytes:
        """``value`` validated against the payload type and serialized; raises
        `pydantic.ValidationError` when it does not match."""
        from .commands import _retry_well_formed

        value = self.payload.validate_python(value)
        try:
            return self.payload.dump_json(value, warnings="error", by_alias=True)
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, value, lambda v: self.payload.dump_json(v, warnings="error", by_alias=True))

    def may(self, access: Access, ctx: CallContext) -> bool:
        return access if isinstance(access, bool) else access.allows(ctx, self.name)


def make_topic(
    name: str,
    payload: Any,
    *,
    history: int,
    history_ttl: float,
    history_bytes: int,
    subscribe: Access,
    publish: Access,
    doc: str | None,
    declared: bool = True,
) -> Topic[Any]:
    """A `Topic`, with every argument checked (the errors name the topic)."""
    check_topic_name(name)
    for kind, value in (("history", history), ("history_bytes", history_bytes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise ValueError(f"topic {name!r}: {kind} must be an integer >= 0; got {value!r}")
    if isinstance(history_ttl, bool) or not isinstance(history_ttl, (int, float)) or not history_ttl > 0:  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
        raise ValueError(f"topic {name!r}: history_ttl must be a number of seconds > 0; got {history_ttl!r}")
    for kind, access in (("subscribe", subscribe), ("publish", publish)):
        if not isinstance(access, (bool, Rule)):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(f"topic {name!r}: {kind}= takes True, False or a Rule; got {access!r}")
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(payload)
    except Exception as exc:
        raise TypeError(f"topic {name!r}: payload type {payload!r} cannot be turned into a pydantic schema: {exc}") from exc
    from .commands import _BYTES_ONLY_IN_COMMANDS, _holds_binary

    if _holds_binary(adapter.core_schema, "serialization") or _holds_binary(adapter.core_schema, "validation"):
        raise TypeError(f"topic {name!r}: payload type {payload!r} holds `bytes`, and topics travel as JSON: {_BYTES_ONLY_IN_COMMANDS}")
    return Topic(name, adapter, history, float(history_ttl), history_bytes, subscribe, publish, doc, declared)
