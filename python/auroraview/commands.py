"""The command and event registry: what a page may call, and which handlers its events reach.

Everything about a handler is worked out when it is registered: its signature becomes one
pydantic arguments validator (params arrive as JSON bytes: an object of named arguments,
an array of positional ones, or nothing) and one serializer for its return type. A
handler that cannot be described that way is refused at decoration time, naming the
function and the parameter. So is `bytes` where only JSON travels (a stream's or channel's
items, an event's payload): a command whose params or result hold `bytes` is a *binary*
command, whose calls and replies carry them raw (docs/binary.md).
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import inspect
import threading
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload

import typing_extensions
from pydantic import BaseModel, TypeAdapter
from pydantic.experimental.arguments_schema import generate_arguments_schema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode
from pydantic_core import CoreSchema, PydanticSerializationError, SchemaValidator, from_json, to_json

from . import _binary, _core
from .channel import Channel
from .context import CallContext
from .errors import InvokeError, InvokeException
from .topics import (
    DEFAULT_HISTORY,
    DEFAULT_HISTORY_BYTES,
    DEFAULT_HISTORY_TTL,
    RESERVED_PREFIX,
    Access,
    Topic,
    check_topic_name,
    make_topic,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .app import App, EventTarget

__all__ = ["TRANSPORTS", "Command", "Commands", "EventDecl", "EventHandler", "HandlerThread", "Transport"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: The transports a connection can come through (`auroraview._core` knows the same four).
Transport = Literal["window", "in_process", "network", "child"]
TRANSPORTS: tuple[Transport, ...] = typing.get_args(Transport)

#: Where a handler runs (docs/dcc.md): ``"main"``, the host's main thread, through the app's
#: main-thread executor. Without it (None), async handlers run on the app's loop and sync
#: ones on its worker threads.
HandlerThread = Literal["main"]

_NAME_LIMIT = _core.DEFAULT_LIMITS["max_name_bytes"]


@dataclass(frozen=True)
class Command:
    """A registered command: the handler and everything derived from its signature."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    validator: SchemaValidator
    result: TypeAdapter[Any]
    timeout: float | None
    doc: str | None
    #: The core schema behind `validator` (the params' JSON Schema is generated from it).
    params_schema: CoreSchema
    #: The `InvokeException` subclasses the handler declares it raises.
    errors: tuple[type[InvokeException], ...] = ()
    #: Access rules (docs/network.md): the transports whose clients may call it, and the
    #: origins they must come from. None: no rule of that kind.
    transports: tuple[Transport, ...] | None = None
    origins: tuple[str, ...] | None = None
    #: The parameter annotated `CallContext` (the runtime passes one per call), if any.
    context: str | None = None
    #: A stream command (a generator function): the type of its items. Its `result` is None.
    stream: TypeAdapter[Any] | None = None
    #: The parameter annotated `Channel[T]` (the runtime passes one per call), if any, and the
    #: type of its items.
    channel: str | None = None
    channel_item: TypeAdapter[Any] | None = None
    #: A binary command (docs/binary.md): its params or its result hold `bytes` somewhere.
    #: Its params may carry attachments (`validate_binary`), its result is cut into JSON and
    #: attachments (`dump_binary`).
    binary: bool = False
    #: A method every app serves itself (`auroraview.subscribe`, ...: docs/topics.md): the
    #: runtime hands its validated params to the app's topics instead of calling ``fn``.
    builtin: str | None = None
    #: ``"main"``: the handler runs on the host's main thread (docs/dcc.md); None: as usual.
    thread: HandlerThread | None = None

    def dump(self, value: Any) -> bytes:
        """Serialize a handler's return value; a value not matching the annotation raises.
        Lone surrogates in its strings become U+FFFD (`_well_formed`)."""
        try:
            return self.result.dump_json(value, warnings="error", by_alias=True)
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, value, lambda v: self.result.dump_json(v, warnings="error", by_alias=True))

    def validate_binary(self, params: bytes, blobs: list[bytes]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Validate params that may hold attachment placeholders: parse the JSON, put each
        attachment in its placeholder's place, then validate in pydantic's python mode (a
        `bytes` parameter or field gets the attachment itself, no copy). Raises
        `pydantic.ValidationError`, or `_binary.AttachmentError` for a placeholder that
        names no attachment."""
        try:
            value = from_json(params, allow_inf_nan=False)
        except ValueError:  # not JSON (the router has parsed it: not expected): pydantic's own error
            return self.validator.validate_json(params)
        return self.validator.validate_python(_binary.put_back(value, blobs))

    def dump_binary(self, value: Any) -> tuple[bytes, list[bytes]]:
        """Serialize a binary command's return value into JSON with placeholders and its
        attachments: pydantic's python mode (checked against the annotation as `dump` does),
        each `bytes` cut out, the rest JSON-encoded as `dump_json` would (NaN and infinities
        as null; lone surrogates as U+FFFD)."""
        plain = self.result.dump_python(value, mode="python", warnings="error", by_alias=True)
        rest, blobs = _binary.cut(plain)
        try:
            return _to_json(rest), blobs
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, rest, _to_json), blobs

    def dump_item(self, value: Any) -> bytes:
        """Serialize one item of this stream or channel command (checked as a result is)."""
        adapter = self.stream or self.channel_item
        assert adapter is not None
        try:
            return adapter.dump_json(value, warnings="error", by_alias=True)
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, value, lambda v: adapter.dump_json(v, warnings="error", by_alias=True))


@dataclass(frozen=True)
class EventDecl:
    """A declared event: its name, which way it travels, and its payload type."""

    name: str
    direction: Literal["to_page", "to_host"]
    payload: TypeAdapter[Any]
    doc: str | None = None

    def serialize(self, value: Any) -> bytes:
        """Validate ``value`` against the declared type and serialize it; raises
        `pydantic.ValidationError` when it does not match."""
        value = self.payload.validate_python(value)
        try:
            return self.payload.dump_json(value, warnings="error", by_alias=True)
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, value, lambda v: self.payload.dump_json(v, warnings="error", by_alias=True))


@dataclass(frozen=True)
class EventHandler:
    """A handler for events sent by the page."""

    event: str
    fn: Callable[..., Any]
    is_async: bool
    detail: TypeAdapter[Any] | None  # None: the handler takes no argument
    #: ``"main"``: the handler runs on the host's main thread (docs/dcc.md); None: as usual.
    thread: HandlerThread | None = None


@dataclass
class _Registry:
    commands: dict[str, Command] = field(default_factory=dict[str, Command])
    handlers: dict[str, list[EventHandler]] = field(default_factory=dict[str, list[EventHandler]])
    events: dict[str, EventDecl] = field(default_factory=dict[str, EventDecl])
    topics: dict[str, Topic[Any]] = field(default_factory=dict[str, Topic[Any]])


def _check_name(kind: str, name: object, *, registering: bool = True) -> str:
    # The same rule the Rust core applies to names on the wire (a lone surrogate takes the
    # 3 bytes of the U+FFFD it becomes there).
    if not isinstance(name, str) or not name or len(name.encode("utf-8", "surrogatepass")) > _NAME_LIMIT:
        raise ValueError(f"{kind} name must be a non-empty string of at most {_NAME_LIMIT} bytes; got {name!r}")
    if registering and _usv(name) != name:
        # On the wire it would be U+FFFD: no page could ever send the name registered.
        raise ValueError(f"{kind} name {name!r} holds a lone surrogate (not Unicode text); the wire would make it U+FFFD")
    return name


# -- strings JavaScript can hold (RELIABILITY.md case 34) -----------------------------
#
# A Python str may hold lone surrogates (from JSON text, or `os.fsdecode` of a file name that
# is not UTF-8), which UTF-8 cannot encode: pydantic refuses to serialize them. The wire's one
# rule is that each lone surrogate becomes U+FFFD (docs/ARCHITECTURE.md, "Strings"): these
# helpers apply it to what Python sends, only after a serializer has refused (no cost else).


def _usv(s: str) -> str:
    """``s`` with each lone surrogate replaced by U+FFFD; surrogate pairs (two code points
    in Python, one character in JS) are joined."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _well_formed(value: Any) -> Any:
    """A copy of ``value`` with `_usv` applied to every string, dict key and field: through
    dicts, lists, tuples (named tuples too), sets, pydantic models and dataclasses. Other
    objects are returned as they are."""
    if isinstance(value, str):
        return _usv(value)
    if isinstance(value, dict):
        items = cast("dict[Any, Any]", value).items()
        return {_well_formed(k): _well_formed(v) for k, v in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = cast("Any", type(cast("Any", value)))
        items = [_well_formed(v) for v in cast("Iterable[Any]", value)]
        if kind is list:
            return items
        if hasattr(kind, "_fields"):
            return kind(*items)  # a named tuple
        return kind(items)
    if isinstance(value, BaseModel):
        update = {name: _well_formed(getattr(value, name)) for name in type(value).model_fields}
        for name, extra in (value.model_extra or {}).items():
            update[name] = _well_formed(extra)
        return value.model_copy(update=update)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = copy.copy(value)
        for f in dataclasses.fields(value):
            object.__setattr__(out, f.name, _well_formed(getattr(value, f.name)))  # frozen ones too
        return out
    return value


def _retry_well_formed(exc: Exception, value: Any, dump: Callable[[Any], bytes]) -> bytes:
    """After ``dump(value)`` raised ``exc``: when it refused a lone surrogate, dump the value
    with those replaced by U+FFFD; otherwise raise ``exc``."""
    if "surrogates not allowed" not in str(exc):
        raise exc
    try:
        cleaned = _well_formed(value)
    except Exception:  # noqa: BLE001 - a value the walk cannot copy: the serializer's own error
        raise exc from None
    return dump(cleaned)


def _to_json(value: Any) -> bytes:
    """Plain data (a python-mode dump) as `dump_json` would write it: NaN and infinities as
    null (`to_json` writes them as `Infinity` and `NaN` unless told), timedeltas as ISO 8601."""
    return to_json(value, by_alias=True, inf_nan_mode="null")


# -- binary data (docs/binary.md) -----------------------------------------------------
#
# A type holds binary data when its JSON Schema (the contract's: validation mode for params,
# serialization mode for results and page-bound payloads) has `{"type": "string", "format":
# "binary"}` somewhere: what pydantic writes for `bytes`, and what the generator makes a
# `Uint8Array`. A `bytes` whose serializer makes it a string (`PlainSerializer(..., return_type=
# str)`, `ser_json_bytes="base64"`) is a string there, and JSON on the wire. The core schema is
# looked at first: without a `bytes` node no JSON Schema is generated (registration stays cheap).


class _BinaryProbe(GenerateJsonSchema):
    """pydantic's JSON Schema, without its warnings (a default it cannot write, ...): only
    the `format` of strings matters here."""

    def emit_warning(self, kind: Any, detail: str) -> None:
        return None


def _has_bytes_node(schema: Any) -> bool:
    """Whether a core schema has a ``bytes`` schema anywhere (models, definitions, unions,
    serializers' return schemas...). Registration walks every command's schemas: kept tight
    (200 schemas over 1,200 models, tests/codegen/scale.py: 0.16 s)."""
    stack: list[Any] = [schema]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if item.__class__ is dict:
            d = cast("dict[str, Any]", item)
            if d.get("type") == "bytes":
                return True
            for k, v in d.items():
                t = v.__class__
                if (t is dict or t is list or t is tuple) and k != "metadata":
                    push(v)
        else:
            for v in cast("list[Any]", item):
                t = v.__class__
                if t is dict or t is list or t is tuple:
                    push(v)
    return False


def _has_binary_format(json_schema: Any) -> bool:
    stack: list[Any] = [json_schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            d = cast("dict[str, Any]", item)
            if d.get("format") == "binary" and d.get("type") == "string":
                return True
            stack.extend(d.values())
        elif isinstance(item, list):
            stack.extend(cast("list[Any]", item))
    return False


def _holds_binary(schema: CoreSchema, mode: JsonSchemaMode) -> bool:
    """Whether values of core schema ``schema`` hold binary data in ``mode`` (see above)."""
    if not _has_bytes_node(schema):
        return False
    try:
        json_schema = _BinaryProbe().generate(schema, mode=mode)
    except Exception:  # noqa: BLE001 - no JSON Schema for some part: the bytes node decides
        return True
    return _has_binary_format(json_schema)


def _describe(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    target = getattr(fn, "__func__", fn)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:  # NameError for an unresolvable string annotation, and friends
        raise TypeError(f"{_describe(fn)}: cannot resolve its type annotations: {exc}") from exc


def _js_safe(schema: Any) -> Any:
    """Copy a core schema, refusing NaN and infinities for float and Decimal params (JSON
    cannot carry them, so a string "NaN" is a mistake, not a number).

    Integers beyond ±(2^53-1) are refused by the Rust core for every params field. Fields of
    a pydantic model or TypedDict keep that class's own validator (pydantic reuses it): set
    ``allow_inf_nan=False`` in its config to refuse NaN there too."""
    if isinstance(schema, list):
        return [_js_safe(s) for s in cast("list[Any]", schema)]
    if not isinstance(schema, dict):
        return schema
    fields = cast("dict[str, Any]", schema)
    out = {k: (v if k in ("metadata", "cls", "ref") else _js_safe(v)) for k, v in fields.items()}
    if out.get("type") in ("float", "decimal"):
        out.setdefault("allow_inf_nan", False)
    return out


def _check_errors(name: str, errors: Any) -> tuple[type[InvokeException], ...]:
    errors = tuple(errors or ())
    for err in errors:
        if not (isinstance(err, type) and issubclass(err, InvokeException)) or issubclass(err, InvokeError):
            raise TypeError(
                f"command {name!r}: errors= takes the InvokeException subclasses its handler raises, got {err!r}"
                + (" (InvokeError is what a caller receives)" if err is InvokeError else "")
            )
    return errors


def _schema_ok(tp: Any) -> bool:
    try:
        TypeAdapter(tp)
    except Exception:  # noqa: BLE001 - any failure means: no schema for this type
        return False
    return True


def _untypable_part(tp: object, path: str, seen: set[int]) -> tuple[str, object] | None:
    """The first ``(path, type)`` inside ``tp`` pydantic cannot build a schema for: a field of a
    TypedDict or dataclass (``files[].stream``), an item, a union member; None if all can."""
    here: tuple[str, object] = (path, tp)
    if _schema_ok(tp):
        return None
    if id(tp) in seen:
        return here
    seen.add(id(tp))
    origin: object = typing.get_origin(tp)
    args: tuple[Any, ...] = typing.get_args(tp)
    if isinstance(tp, type) and (typing_extensions.is_typeddict(tp) or dataclasses.is_dataclass(tp)):
        try:
            fields = typing.get_type_hints(tp, include_extras=True)
        except Exception:  # noqa: BLE001 - unresolvable annotations: this type is the culprit
            return here
        for field_name, hint in fields.items():
            if typing.get_origin(hint) is typing.ClassVar:
                continue
            found = _untypable_part(hint, f"{path}.{field_name}", seen)
            if found is not None:
                return found
        return here
    if origin is None or not args:
        return here
    if origin is typing.Annotated or origin is typing.Union or str(origin).rsplit(".", 1)[-1] in ("Required", "NotRequired", "ReadOnly") or isinstance(tp, types.UnionType):
        parts: list[tuple[Any, str]] = [(a, path) for a in (args[:1] if origin is typing.Annotated else args)]
    elif origin is dict or origin is collections.abc.Mapping or origin is collections.abc.MutableMapping:
        parts = [(args[-1], f"{path}[<key>]")]
    elif origin is tuple:
        parts = [(a, f"{path}[{i}]") for i, a in enumerate(args) if a is not Ellipsis]
    else:
        parts = [(a, f"{path}[]") for a in args]
    for arg, where in parts:
        found = _untypable_part(arg, where, seen)
        if found is not None:
            return found
    return here


def _type_repr(tp: object) -> str:
    text = repr(tp) if not isinstance(tp, type) else tp.__qualname__
    return text.replace("typing.", "")


def _untypable_message(fn: Callable[..., Any], sig: inspect.Signature, hints: dict[str, Any]) -> str | None:
    """What to tell the user when a signature has a type pydantic cannot describe: which
    parameter (or the return type), the path to the type inside it, and what to do."""
    todo = (
        "Command params and results travel as JSON: use a JSON-friendly type there (e.g. `bytes` or "
        "`str` for file contents, a `str` path for a file, a pydantic model of such fields), "
        "or keep the object on the Python side and pass an id."
    )
    head = f"{_describe(fn)}: its signature cannot be turned into a pydantic schema"
    for p in sig.parameters.values():
        if hints[p.name] is CallContext:
            continue
        found = _untypable_part(hints[p.name], p.name, set())
        if found is not None:
            where, tp = found
            what = "has type" if where == p.name else f"holds `{where}` of type"
            return (
                f"{head}: parameter {p.name!r} {what} `{_type_repr(tp)}`, which pydantic cannot "
                f"validate or describe. {todo}"
            )
    if "return" in hints:
        found = _untypable_part(hints["return"], "return", set())
        if found is not None:
            where, tp = found
            return (
                f"{head}: its return type holds `{where}`, of type `{_type_repr(tp)}`, which pydantic cannot "
                f"serialize or describe. {todo}"
            )
    return None


def _check_access(name: str, transports: Any, origins: Any) -> tuple[tuple[Transport, ...] | None, tuple[str, ...] | None]:
    if transports is not None:
        if isinstance(transports, str):
            transports = (transports,)
        transports = tuple(cast("Iterable[Any]", transports))
        for t in transports:
            if t not in TRANSPORTS:
                raise ValueError(f"command {name!r}: unknown transport {t!r}; known: {', '.join(TRANSPORTS)}")
    if origins is not None:
        if isinstance(origins, str):
            origins = (origins,)
        origins = tuple(cast("Iterable[Any]", origins))
        for o in origins:
            if not isinstance(o, str) or "://" not in o:
                raise ValueError(f"command {name!r}: {o!r} is not an origin (scheme://host[:port])")
    return cast("tuple[Transport, ...] | None", transports), cast("tuple[str, ...] | None", origins)


def _make_command(
    fn: Callable[..., Any],
    name: str,
    timeout: object,
    errors: Any = (),
    transports: Any = None,
    origins: Any = None,
    thread: Any = None,
) -> Command:
    if not callable(fn):
        raise TypeError(f"command {name!r}: expected a function, got {fn!r}")
    access_transports, access_origins = _check_access(name, transports, origins)
    _check_thread(f"command {name!r}", thread)
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"command {name!r}: timeout must be a positive number of seconds, got {timeout!r}")
    hints = _type_hints(fn)
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(
                f"{_describe(fn)}: parameter {p.name!r} is *args/**kwargs; commands need named, "
                "annotated parameters so their params can be validated and typed"
            )
        if p.name not in hints:
            raise TypeError(
                f"{_describe(fn)}: parameter {p.name!r} has no type annotation; "
                f"annotate it (e.g. `{p.name}: str`) so its params can be validated"
            )
    context = _context_param(fn, sig, hints)
    channel, channel_type = _channel_param(fn, sig, hints)
    streaming = inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn)
    if streaming and channel is not None:
        raise TypeError(f"{_describe(fn)}: a stream command (a generator) yields its items; it takes no Channel parameter")
    skipped = {n for n in (context, channel) if n is not None}
    declared_errors = _check_errors(name, errors)
    try:
        schema = _js_safe(
            generate_arguments_schema(
                fn, schema_type="arguments", parameters_callback=lambda _i, n, _t: "skip" if n in skipped else None
            )
        )
        validator = SchemaValidator(schema)
        if streaming:
            item = _stream_item(fn, hints.get("return", Any))
            stream: TypeAdapter[Any] | None = TypeAdapter(item)
            result: TypeAdapter[Any] = TypeAdapter(None)
        else:
            stream = None
            result = TypeAdapter(hints.get("return", Any))
        channel_item = None if channel is None else TypeAdapter(channel_type)
    except Exception as exc:
        raise TypeError(_untypable_message(fn, sig, hints) or f"{_describe(fn)}: its signature cannot be turned into a pydantic schema: {exc}") from exc
    binary = _binary_parts(fn, schema, result, stream, channel, channel_item)
    if thread == "main":
        _check_main_thread_command(fn, name, streaming, channel)
    return Command(
        name=name,
        fn=fn,
        is_async=inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn),
        validator=validator,
        result=result,
        timeout=float(timeout) if timeout is not None else None,
        doc=inspect.getdoc(fn),
        params_schema=schema,
        errors=declared_errors,
        transports=access_transports,
        origins=access_origins,
        context=context,
        stream=stream,
        channel=channel,
        channel_item=channel_item,
        binary=binary,
        thread=thread,
    )


def _check_thread(what: str, thread: object) -> None:
    if thread is not None and thread != "main":
        raise ValueError(f'{what}: thread= takes "main" (the host\'s main thread, docs/dcc.md) or None, got {thread!r}')


def _check_main_thread_command(fn: Callable[..., Any], name: str, streaming: bool, channel: str | None) -> None:
    """A main-thread command is a plain sync function: its thread is the host's, which must
    never wait for the app's loop or a page."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise TypeError(
            f"{_describe(fn)}: command {name!r} is declared thread=\"main\" and is async. A main-thread handler "
            "is a plain (sync) function, run on the host's main thread between its events; an async handler "
            "runs on the app's loop. Make it sync, or keep it async and call the host from it with "
            "`await app.run_in_main_thread(fn, *args)` (docs/dcc.md)"
        )
    if streaming or channel is not None:
        raise TypeError(
            f"{_describe(fn)}: command {name!r} is declared thread=\"main\" and is a "
            f"{'stream (a generator)' if streaming else 'channel command'}: its items would hold the host's main "
            "thread while the page reads them. Stream from the app's loop or a worker instead, and call the host "
            "with `await app.run_in_main_thread(fn, *args)` (docs/dcc.md)"
        )


_BYTES_ONLY_IN_COMMANDS = (
    "raw bytes travel only in the params and result of a plain command (docs/binary.md): "
    "send them from a command of their own, or encode them into a str (e.g. base64) yourself"
)


def _binary_parts(
    fn: Callable[..., Any],
    params: CoreSchema,
    result: TypeAdapter[Any],
    stream: TypeAdapter[Any] | None,
    channel: str | None,
    channel_item: TypeAdapter[Any] | None,
) -> bool:
    """Whether a command is binary (its params or result hold `bytes`); refuses a stream or
    a command with a channel that would be (their items travel as JSON)."""
    params_binary = _holds_binary(params, "validation")
    if stream is not None or channel is not None:
        kind = "a stream command" if stream is not None else f"a command with a Channel parameter ({channel!r})"
        item = stream or channel_item
        assert item is not None
        holders = [
            what
            for what, found in (
                ("its params", params_binary),
                ("its result", stream is None and _holds_binary(result.core_schema, "serialization")),
                ("its items", _holds_binary(item.core_schema, "serialization")),
            )
            if found
        ]
        if holders:
            raise TypeError(
                f"{_describe(fn)}: {' and '.join(holders)} hold `bytes`, and {kind} cannot be a binary command: "
                f"{_BYTES_ONLY_IN_COMMANDS}"
            )
        return False
    return params_binary or _holds_binary(result.core_schema, "serialization")


_ASYNC_STREAMS = (collections.abc.AsyncIterator, collections.abc.AsyncIterable, collections.abc.AsyncGenerator)
_SYNC_STREAMS = (collections.abc.Iterator, collections.abc.Iterable, collections.abc.Generator)


def _stream_item(fn: Callable[..., Any], annotation: Any) -> Any:
    """The item type of a generator command from its return annotation (`AsyncIterator[T]`,
    `Iterator[T]`, their Iterable and Generator forms; none: `Any`)."""
    if annotation is Any:
        return Any
    origin = typing.get_origin(annotation) or annotation
    wanted = _ASYNC_STREAMS if inspect.isasyncgenfunction(fn) else _SYNC_STREAMS
    if origin not in wanted:
        kind = "AsyncIterator[T]" if inspect.isasyncgenfunction(fn) else "Iterator[T]"
        raise TypeError(
            f"{_describe(fn)}: a generator command streams its items: annotate its return as {kind} "
            f"(or the Iterable/Generator form), not {annotation!r}"
        )
    args = typing.get_args(annotation)
    return args[0] if args else Any


def _channel_param(fn: Callable[..., Any], sig: inspect.Signature, hints: dict[str, Any]) -> tuple[str | None, Any]:
    """The parameter annotated `Channel[T]` (at most one, passable by keyword, no default)
    and its item type."""
    found = [p for p in sig.parameters.values() if (typing.get_origin(hints.get(p.name)) or hints.get(p.name)) is Channel]
    if not found:
        return None, None
    if len(found) > 1:
        raise TypeError(f"{_describe(fn)}: parameters {', '.join(repr(p.name) for p in found)} are all channels; take one")
    p = found[0]
    if p.kind is p.POSITIONAL_ONLY:
        raise TypeError(f"{_describe(fn)}: the Channel parameter {p.name!r} must be passable by keyword")
    if p.default is not p.empty:
        raise TypeError(f"{_describe(fn)}: the Channel parameter {p.name!r} takes no default (the runtime always passes one)")
    args = typing.get_args(hints[p.name])
    return p.name, args[0] if args else Any


def _context_param(fn: Callable[..., Any], sig: inspect.Signature, hints: dict[str, Any]) -> str | None:
    """The parameter annotated `CallContext`, which the runtime fills (at most one, passable by
    keyword, without a default)."""
    found = [p for p in sig.parameters.values() if hints.get(p.name) is CallContext]
    if not found:
        return None
    if len(found) > 1:
        raise TypeError(f"{_describe(fn)}: parameters {', '.join(repr(p.name) for p in found)} are all CallContext; take one")
    p = found[0]
    if p.kind is p.POSITIONAL_ONLY:
        raise TypeError(f"{_describe(fn)}: the CallContext parameter {p.name!r} must be passable by keyword")
    if p.default is not p.empty:
        raise TypeError(f"{_describe(fn)}: the CallContext parameter {p.name!r} takes no default (the runtime always passes one)")
    return p.name


def _make_event_handler(fn: Callable[..., Any], event: str, thread: Any = None) -> EventHandler:
    if not callable(fn):
        raise TypeError(f"event handler for {event!r}: expected a function, got {fn!r}")
    _check_thread(f"event handler for {event!r}", thread)
    if thread == "main" and inspect.iscoroutinefunction(fn):
        raise TypeError(
            f"{_describe(fn)}: the handler of event {event!r} is declared thread=\"main\" and is async. A "
            "main-thread handler is a plain (sync) function, run on the host's main thread between its events; "
            "make it sync, or keep it async and call the host with `await app.run_in_main_thread(fn, *args)` "
            "(docs/dcc.md)"
        )
    params = list(inspect.signature(fn).parameters.values())
    if len(params) > 1 or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in params):
        raise TypeError(f"{_describe(fn)}: an event handler takes at most one positional parameter (the event detail)")
    detail = None
    if params:
        annotation = _type_hints(fn).get(params[0].name, Any)
        detail = TypeAdapter(annotation)
        if _holds_binary(detail.core_schema, "validation"):
            raise TypeError(
                f"{_describe(fn)}: the detail of event {event!r} holds `bytes`, and events travel as JSON: "
                f"{_BYTES_ONLY_IN_COMMANDS}"
            )
    return EventHandler(event=event, fn=fn, is_async=inspect.iscoroutinefunction(fn), detail=detail, thread=thread)


class Commands:
    """A registry of commands and event handlers. Needs no window: codegen and tests
    import it directly. It is served by one `App` (created on first use unless you make one),
    whose router every window and client of the registry joins.

    >>> commands = Commands()
    >>> @commands.command()
    ... async def greet(name: str) -> str:
    ...     return f"hello {name}"
    """

    def __init__(self, *, open_topics: bool = False) -> None:
        """``open_topics``: any valid topic name is a topic of untyped JSON that any client
        may subscribe and publish to (docs/topics.md); without it, only declared topics
        exist and others are refused ``unknown_topic``."""
        self._reg = _Registry()
        self.open_topics = bool(open_topics)
        self._lock = threading.Lock()
        self._watchers: list[Callable[[Command], None]] = []
        self._app: App | None = None

    @property
    def app(self) -> App:
        """The app serving this registry: the one given ``App(commands)``, else one made with
        default settings on first use."""
        app = self._app
        if app is None:
            from .app import App

            with _app_lock:
                app = self._app if self._app is not None else App(self)
        return app

    # -- registration ---------------------------------------------------------------

    @overload
    def command(
        self,
        name: F,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> F: ...
    @overload
    def command(
        self,
        name: str | None = None,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> Callable[[F], F]: ...
    def command(
        self,
        name: Any = None,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> Any:
        """Register a command: ``@commands.command()`` uses the function's name as the wire
        name, ``@commands.command("api.rename")`` chooses it. ``timeout`` (seconds) answers the
        call ``timeout`` and cancels the handler when it runs longer. ``errors`` lists the
        `InvokeException` subclasses it raises, for its contract.

        Access rules (answered ``forbidden`` otherwise; docs/network.md): ``transports``
        names who may call it (``"window"``, ``"in_process"``, ``"network"``, ``"child"``);
        ``origins`` the exact origins its callers must come from. A command without
        ``transports`` is not callable by network clients of a server started with
        ``expose="declared"`` (the default of `App.serve`).

        ``thread="main"`` runs the handler on the host's main thread, through the app's
        main-thread executor (`App`'s ``main_thread=``; docs/dcc.md): for host APIs that may be
        called only from there (``maya.cmds``, ``hou``, ``nuke``, Qt widgets). It must be a
        plain (sync) function, not a stream or channel command."""
        if callable(name):
            return self.command(timeout=timeout, errors=errors, transports=transports, origins=origins, thread=thread)(
                name
            )

        def register(fn: F) -> F:
            self.add(
                fn,
                name or fn.__name__,
                timeout=timeout,
                errors=errors,
                transports=transports,
                origins=origins,
                thread=thread,
            )
            return fn

        return register

    def bind_call(self, name: str, fn: Callable[..., Any] | None = None, *, timeout: float | None = None) -> Any:
        """Seed API: ``@bind_call("api.x")`` or ``bind_call("api.x", fn)``."""
        if fn is not None:
            self.add(fn, name, timeout=timeout)
            return fn
        return self.command(name, timeout=timeout)

    def bind_api(self, obj: object, namespace: str = "api") -> list[str]:
        """Expose the public methods of ``obj`` as ``<namespace>.<method>`` (in the page:
        ``auroraview.<namespace>.<method>(params)``); returns the names.

        All or nothing: when one method cannot be registered, none is. Attributes are read
        without running them: properties and other descriptors are skipped, never evaluated."""
        _check_name("namespace", namespace)
        cmds: list[Command] = []
        for attr in sorted(dir(obj)):
            if attr.startswith("_"):
                continue
            try:
                static = inspect.getattr_static(obj, attr)
            except AttributeError:
                continue
            if not isinstance(static, (staticmethod, classmethod)) and not inspect.isfunction(static):
                continue  # data, properties, nested classes: not commands
            cmds.append(_make_command(getattr(obj, attr), _check_name("command", f"{namespace}.{attr}"), None))
        if not cmds:
            raise ValueError(f"bind_api: {type(obj).__name__} has no public methods to expose")
        self._add_all(cmds)
        return [cmd.name for cmd in cmds]

    def add(
        self,
        fn: Callable[..., Any],
        name: str,
        *,
        timeout: float | None = None,
        errors: Iterable[type[InvokeException]] = (),
        transports: Iterable[Transport] | None = None,
        origins: Iterable[str] | None = None,
        thread: HandlerThread | None = None,
    ) -> str:
        """Register ``fn`` under the wire name ``name`` (options as for `command`)."""
        _check_name("command", name)
        self._add_all([_make_command(fn, name, timeout, errors, transports, origins, thread)])
        return name

    def _add_all(self, cmds: list[Command]) -> None:
        for cmd in cmds:
            if cmd.name.startswith(RESERVED_PREFIX):
                raise ValueError(f"command name {cmd.name!r}: the {RESERVED_PREFIX!r} prefix is reserved (topics use it: docs/topics.md)")
        with self._lock:
            for cmd in cmds:
                if cmd.name in self._reg.commands:
                    taken = self._reg.commands[cmd.name]
                    raise ValueError(f"a command named {cmd.name!r} is already registered ({_describe(taken.fn)})")
            for cmd in cmds:
                self._reg.commands[cmd.name] = cmd
                for watch in self._watchers:
                    watch(cmd)

    def _watch(self, callback: Callable[[Command], None]) -> list[Command]:
        """Call ``callback(cmd)`` for every command added from now on; returns those
        registered so far (atomically with starting to watch). For the registry's app."""
        with self._lock:
            self._watchers.append(callback)
            return list(self._reg.commands.values())

    @overload
    def on(self, event: str, *, thread: HandlerThread | None = None) -> Callable[[F], F]: ...
    @overload
    def on(self, event: str, fn: F, *, thread: HandlerThread | None = None) -> F: ...
    def on(self, event: str, fn: Any = None, *, thread: HandlerThread | None = None) -> Any:
        """Handle ``auroraview.send_event(event, detail)`` from the page: as a decorator
        (``@commands.on("export")``) or a call (``commands.on("export", handler)``). Several
        handlers may share an event; a failing one is logged and the others still run.
        ``thread="main"``: a sync handler run on the host's main thread (see `command`);
        main-thread handlers run one at a time, in the order the events came."""
        _check_name("event", event)
        _check_thread(f"event handler for {event!r}", thread)
        if fn is not None:
            return self.on(event, thread=thread)(fn)

        def register(fn: F) -> F:
            handler = _make_event_handler(fn, event, thread)
            with self._lock:
                self._reg.handlers.setdefault(event, []).append(handler)
                # The first handler's parameter type declares the event, unless declared already.
                if event not in self._reg.events:
                    payload = handler.detail if handler.detail is not None else TypeAdapter(None)
                    self._reg.events[event] = EventDecl(event, "to_host", payload, inspect.getdoc(fn))
            return fn

        return register

    def declare_event(
        self,
        event: str,
        payload: Any = None,
        *,
        direction: Literal["to_page", "to_host"] = "to_page",
        doc: str | None = None,
    ) -> EventDecl:
        """Declare an event and its payload type. For ``to_page`` events (Python → page),
        `emit` then validates every payload against the type and raises when it does not
        match; both directions appear, typed, in the contract."""
        _check_name("event", event)
        if direction not in ("to_page", "to_host"):
            raise ValueError(f"direction must be 'to_page' or 'to_host', got {direction!r}")
        try:
            adapter = TypeAdapter(payload)
        except Exception as exc:
            raise TypeError(f"event {event!r}: payload type {payload!r} cannot be turned into a pydantic schema: {exc}") from exc
        if _holds_binary(adapter.core_schema, "serialization" if direction == "to_page" else "validation"):
            raise TypeError(
                f"event {event!r}: payload type {payload!r} holds `bytes`, and events travel as JSON: "
                f"{_BYTES_ONLY_IN_COMMANDS}"
            )
        decl = EventDecl(event, direction, adapter, doc)
        with self._lock:
            if event in self._reg.events and self._reg.events[event].direction != direction:
                raise ValueError(f"event {event!r} is already declared {self._reg.events[event].direction}")
            self._reg.events[event] = decl
        return decl

    def events(self) -> list[EventDecl]:
        """The declared events (including those declared by their `on` handlers)."""
        return list(self._reg.events.values())

    def topic(
        self,
        name: str,
        payload: type[T] | Any = Any,
        *,
        history: int = DEFAULT_HISTORY,
        history_ttl: float = DEFAULT_HISTORY_TTL,
        history_bytes: int = DEFAULT_HISTORY_BYTES,
        subscribe: Access = True,
        publish: Access = False,
        doc: str | None = None,
    ) -> Topic[T]:
        """Declare topic ``name`` carrying ``payload`` (docs/topics.md): publishes are validated
        against it, from Python and from clients, and codegen types it. ``history`` messages
        younger than ``history_ttl`` seconds (at most ``history_bytes``) are kept so that a
        subscriber reconnecting can recover what it missed. ``subscribe=``/``publish=``: which
        clients may (True: any; False: none; a `Rule`); the app itself always may publish.
        Declaring a name twice is an error."""
        decl = make_topic(
            name,
            payload,
            history=history,
            history_ttl=history_ttl,
            history_bytes=history_bytes,
            subscribe=subscribe,
            publish=publish,
            doc=doc,
        )
        with self._lock:
            if name in self._reg.topics:
                raise ValueError(f"topic {name!r} is declared already")
            self._reg.topics[name] = decl
        return cast("Topic[T]", decl)

    def topics(self) -> list[Topic[Any]]:
        """The declared topics, in declaration order."""
        return list(self._reg.topics.values())

    def find_topic(self, name: str) -> Topic[Any] | None:
        """Topic ``name``: the declared one; with ``open_topics``, an untyped one for any valid
        name; else None."""
        decl = self._reg.topics.get(name)
        if decl is None and self.open_topics:
            try:
                check_topic_name(name)
            except ValueError:
                return None
            decl = make_topic(
                name,
                Any,
                history=DEFAULT_HISTORY,
                history_ttl=DEFAULT_HISTORY_TTL,
                history_bytes=DEFAULT_HISTORY_BYTES,
                subscribe=True,
                publish=True,
                doc=None,
                declared=False,
            )
        return decl

    # -- lookup ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[Command]:
        return iter(list(self._reg.commands.values()))

    def __len__(self) -> int:
        return len(self._reg.commands)

    def __contains__(self, name: object) -> bool:
        return name in self._reg.commands

    def get(self, name: str) -> Command | None:
        return self._reg.commands.get(name)

    def handlers(self, event: str) -> list[EventHandler]:
        return list(self._reg.handlers.get(event, ()))

    def _uses_main_thread(self) -> bool:
        """Whether any command or event handler registered so far runs on the main thread."""
        with self._lock:
            return any(c.thread == "main" for c in self._reg.commands.values()) or any(
                h.thread == "main" for hs in self._reg.handlers.values() for h in hs
            )

    # -- Python → JS ----------------------------------------------------------------

    def emit(self, event: str, payload: Any = None, *, to: EventTarget = None) -> int:
        """Push an event to the pages and clients of this registry's app, in order (see
        `App.emit`: ``to=`` targets one connection, window or transport)."""
        return self.app.emit(event, payload, to=to)

    def serialize_event(self, event: str, payload: Any) -> bytes:
        """The JSON for an emitted payload: checked against the declared type when the event
        is declared ``to_page`` (raises `pydantic.ValidationError` on a mismatch), and for
        integers JavaScript cannot represent (raises `ValueError`)."""
        _check_name("event", event, registering=False)
        data = self._event_json(event, payload)
        _core.check_js_safe(data, "payload")  # ValueError for integers beyond ±(2^53-1)
        return data

    def _event_json(self, event: str, payload: Any) -> bytes:
        """`serialize_event` without the name and integer checks, which `Core.emit` makes
        (the emit path: one call into the core per event)."""
        decl = self._reg.events.get(event)
        if decl is not None and decl.direction == "to_page":
            return decl.serialize(payload)
        try:
            return to_json(payload, by_alias=True)
        except (PydanticSerializationError, UnicodeEncodeError) as exc:
            return _retry_well_formed(exc, payload, lambda v: to_json(v, by_alias=True))


_app_lock = threading.Lock()
