"""The host side of topics for one `App` (docs/topics.md): the reserved methods clients call
(`auroraview.subscribe`, `auroraview.unsubscribe`, `auroraview.publish`), and the app's own
`publish`/`subscribe`/`presence`. Offsets, history and fan-out are the core's
(`src/ipc/topics.rs`); what is decided here is what needs Python: which topics exist, their
rules (a `Rule`'s callback), and their payload types.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import to_json

from . import _core
from .commands import TRANSPORTS, Command, EventHandler, _make_command
from .context import CallContext
from .errors import ERROR_NAMES
from .topics import PUBLISH, SUBSCRIBE, UNSUBSCRIBE, Topic, TopicsUnavailable, check_topic_name

if TYPE_CHECKING:
    from .commands import Commands

log = logging.getLogger("auroraview.topics")

#: Event-handler names under which the app's own topic subscribers run (no event name can
#: start with a NUL).
HANDLER_PREFIX = "\0topic:"


class Since(BaseModel):
    """Where a resubscribing client left off."""

    epoch: str
    offset: int = Field(ge=0)


# The reserved methods' signatures: their params are validated like any command's.
async def _subscribe(topic: str, since: Since | None = None) -> None: ...
async def _unsubscribe(topic: str) -> None: ...
async def _publish(topic: str, data: Any = None) -> None: ...


def builtin_commands() -> list[Command]:
    """The reserved methods, as commands the runtime hands to `Topics.handle`. Declared for
    every transport, so a server that exposes only declared commands serves them too: each
    topic's own rules decide who may subscribe and publish."""
    return [
        dataclasses.replace(_make_command(fn, name, None, (), TRANSPORTS, None), builtin=name)
        for fn, name in ((_subscribe, SUBSCRIBE), (_unsubscribe, UNSUBSCRIBE), (_publish, PUBLISH))
    ]


class UnknownTopic(LookupError):
    """A topic that is not declared (and the app has no ``open_topics``)."""


class Topics:
    """One app's topics: the requests from clients and the app's own use."""

    def __init__(self, commands: Commands, core: _core.Core) -> None:
        self.commands = commands
        self.core = core
        self._lock = threading.Lock()
        #: The app's own subscribers, by topic name.
        self._handlers: dict[str, list[EventHandler]] = {}
        #: Declared topics the core has been told of (it keeps them while idle).
        self._declared: set[str] = set()
        #: A runtime runs the app's handlers: only then does the core queue publications for
        #: them (nothing would take them otherwise, and the queue would only grow).
        self._running = False

    def find(self, name: str) -> Topic[Any]:
        """Topic ``name``; `ValueError` for a name that is not one, `UnknownTopic` for one
        not declared."""
        if isinstance(name, Topic):
            return name
        check_topic_name(name)
        decl = self.commands.find_topic(name)
        if decl is None:
            raise UnknownTopic(
                f"no topic named {name!r} is declared (declare it with commands.topic(...), or make the app's "
                "Commands(open_topics=True) to allow any name)"
            )
        if decl.declared and name not in self._declared:
            self.core.topic_declare(name, decl.history, decl.history_ttl, decl.history_bytes)
            self._declared.add(name)
        return decl

    # -- the app's own use -----------------------------------------------------------

    def publish(self, topic: Topic[Any] | str, payload: Any) -> int:
        """Validate ``payload`` and publish it: its offset, once it is queued to every
        subscriber. Raises `pydantic.ValidationError` for the wrong shape, `UnknownTopic`,
        `ValueError` for integers JavaScript cannot represent."""
        decl = self.find(topic.name if isinstance(topic, Topic) else topic)
        data = decl.serialize(payload)
        try:
            _, offset = self.core.topic_publish(decl.name, data, decl.history, decl.history_ttl, decl.history_bytes)
        except ConnectionError as exc:
            raise TopicsUnavailable(str(exc)) from None
        return offset

    def subscribe(self, topic: Topic[Any] | str, handler: Callable[[Any], Any]) -> None:
        """Call ``handler(payload)`` for each message of ``topic`` published while the app runs
        (a window, a server or a test client attached), in publish order (an async handler is
        started in order; a sync one runs on the event thread, in order)."""
        decl = self.find(topic.name if isinstance(topic, Topic) else topic)
        if not callable(handler):
            raise TypeError(f"a topic subscriber is a callable taking the payload; got {handler!r}")
        is_async = inspect.iscoroutinefunction(handler)
        h = EventHandler(HANDLER_PREFIX + decl.name, handler, is_async, decl.payload)
        with self._lock:
            if decl.name not in self._handlers and self._running:
                self.core.topic_host(decl.name, True, decl.history, decl.history_ttl, decl.history_bytes)
            self._handlers.setdefault(decl.name, []).append(h)

    def unsubscribe(self, topic: Topic[Any] | str, handler: Callable[[Any], Any]) -> bool:
        """Stop calling ``handler`` for ``topic``; whether it was subscribed."""
        decl = self.find(topic.name if isinstance(topic, Topic) else topic)
        with self._lock:
            handlers = self._handlers.get(decl.name, [])
            kept = [h for h in handlers if h.fn != handler]
            if len(kept) == len(handlers):
                return False
            if kept:
                self._handlers[decl.name] = kept
            else:
                del self._handlers[decl.name]
                if self._running:
                    self.core.topic_host(decl.name, False, decl.history, decl.history_ttl, decl.history_bytes)
        return True

    def set_running(self, running: bool) -> None:
        """A runtime started (or the last stopped): the app's subscriptions start (or stop)
        taking publications."""
        with self._lock:
            self._running = running
            for name in self._handlers:
                decl = self.find(name)
                self.core.topic_host(name, running, decl.history, decl.history_ttl, decl.history_bytes)

    def handlers(self, name: str) -> list[EventHandler]:
        """The app's subscribers of the topic named by ``name`` (`HANDLER_PREFIX` + topic)."""
        return list(self._handlers.get(name[len(HANDLER_PREFIX) :], ()))

    def presence(self, topic: Topic[Any] | str) -> list[dict[str, Any]]:
        """The connections subscribed to ``topic`` now (their identity, as `App.connections`)."""
        decl = self.find(topic.name if isinstance(topic, Topic) else topic)
        found = self.core.topic_presence(decl.name)
        if found is None:
            return []
        out: list[dict[str, Any]] = []
        for conn in found[0]:
            info = self.core.conn_info(conn)
            if info is not None:
                out.append(info)
        return out

    # -- requests from clients -------------------------------------------------------------

    def handle(self, key: int, cmd: Command, kwargs: dict[str, Any], conn: int) -> None:
        """Answer reserved-method call ``key`` (its params already validated)."""
        name = kwargs["topic"]
        try:
            decl = self.find(name)
        except UnknownTopic as exc:
            self.core.fail(key, "UnknownTopic", "unknown_topic", str(exc))
            return
        except ValueError as exc:
            self._invalid(key, cmd, ("topic",), str(exc))
            return
        if cmd.builtin == UNSUBSCRIBE:
            self.core.topic_unsubscribe(conn, decl.name)
            self.core.complete(key, b"null")
            return
        info = self.core.conn_info(conn)
        if info is None:
            return  # the connection closed: the router has ended the call
        ctx = CallContext._for(cmd.name, conn, info, None)  # pyright: ignore[reportPrivateUsage]
        subscribing = cmd.builtin == SUBSCRIBE
        access = decl.subscribe if subscribing else decl.publish
        try:
            allowed = decl.may(access, ctx)
        except Exception:
            log.exception("the %s rule of topic %r raised", "subscribe" if subscribing else "publish", decl.name)
            self.core.fail(key, ERROR_NAMES["internal"], "internal", f"the access rule of topic {decl.name!r} failed")
            return
        if not allowed:
            verb = "subscribe to" if subscribing else "publish on"
            self.core.fail(key, ERROR_NAMES["forbidden"], "forbidden", f"this connection may not {verb} topic {decl.name!r}")
            return
        if subscribing:
            since: Since | None = kwargs.get("since")
            try:
                self.core.topic_subscribe(
                    key,
                    decl.name,
                    decl.history,
                    decl.history_ttl,
                    decl.history_bytes,
                    None if since is None else since.epoch,
                    None if since is None else since.offset,
                )
            except RuntimeError as exc:
                self.core.fail(key, ERROR_NAMES["overloaded"], "overloaded", str(exc))
            return
        try:
            data = decl.serialize(kwargs.get("data"))
        except ValidationError as exc:
            n = exc.error_count()
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in ("data", *first["loc"]))
            message = f"invalid payload for topic {decl.name!r}: {where}: {first['msg']}"
            if n > 1:
                message += f" (and {n - 1} more error{'s' if n > 2 else ''})"
            errors = [{**e, "loc": ["data", *e["loc"]]} for e in exc.errors(include_url=False, include_input=False)]
            self.core.fail(key, ERROR_NAMES["invalid_params"], "invalid_params", message, to_json({"errors": errors}))
            return
        if self.core.broker_status() is not None:
            # The broker orders it: the core answers the call when it has (or cannot).
            self.core.topic_publish_call(key, decl.name, data, decl.history, decl.history_ttl, decl.history_bytes)
            return
        try:
            epoch, offset = self.core.topic_publish(decl.name, data, decl.history, decl.history_ttl, decl.history_bytes)
        except ValueError as exc:
            self._invalid(key, cmd, ("data",), str(exc))
            return
        except RuntimeError as exc:
            self.core.fail(key, ERROR_NAMES["overloaded"], "overloaded", str(exc))
            return
        self.core.complete(key, to_json({"epoch": epoch, "offset": offset}))

    def _invalid(self, key: int, cmd: Command, loc: tuple[str, ...], message: str) -> None:
        data = to_json({"errors": [{"type": "value_error", "loc": list(loc), "msg": message}]})
        self.core.fail(key, ERROR_NAMES["invalid_params"], "invalid_params", f"invalid params for {cmd.name!r}: {'.'.join(loc)}: {message}", data)
