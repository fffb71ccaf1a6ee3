"""Raw bytes in params and results (docs/binary.md): each `bytes` value is cut out of a value
as an attachment, a ``{"$bin": i}`` placeholder taking its place in the JSON, and put back by
the receiver. Shared by the runtime (params in, results out), `TestClient` and the network
client (params out, results in); the frame itself is `_core.encode_frame`/`decode_frame`.

Nothing here copies an attachment: a `bytes` value is handed on as it is (a `bytearray` or
`memoryview` becomes `bytes`, which copies it once).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

from pydantic import BaseModel
from pydantic_core import SchemaSerializer, core_schema

__all__ = ["PLACEHOLDER", "AttachmentError", "cut", "has_bytes", "put_back", "to_plain"]

#: The key of a placeholder: ``{"$bin": i}`` (that one key, ``i`` an attachment's index).
PLACEHOLDER = "$bin"

_BYTES_LIKE = (bytes, bytearray, memoryview)
# JSON scalars (and their common Python forms): nothing to look into.
_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})

# Any value as pydantic's python mode sees it: models, dataclasses and TypedDicts become
# dicts, `bytes` stay `bytes` (the same objects), other leaves (datetime, UUID, ...) stay as
# they are for `to_json`.
_ANY = SchemaSerializer(core_schema.any_schema())


class AttachmentError(ValueError):
    """A placeholder naming no attachment (an index out of range, or not an index), or a
    value shaped like a placeholder that is not one. ``loc``: where it sits in the value."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.loc)
        return f"{where}: {self.message}" if where else self.message


def to_plain(value: Any) -> Any:
    """``value`` in pydantic's python mode (`by_alias`): models and dataclasses as dicts, `bytes`
    untouched. For a caller's params, before `cut`."""
    if type(value) in _SCALARS:
        return value
    return _ANY.to_python(value, mode="python", by_alias=True)


def has_bytes(value: Any) -> bool:
    """Whether ``value`` holds a `bytes`-like value anywhere: in dicts, lists, tuples, sets,
    and the fields of pydantic models and dataclasses. (A loop, not recursion: it runs on
    every call of the network client that has params.)"""
    stack: list[Any] = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        v = pop()
        t = v.__class__
        if t in _SCALARS:
            continue
        if t is dict:
            extend(cast("dict[Any, Any]", v).values())
        elif t is list or t is tuple:
            extend(cast("list[Any]", v))
        elif isinstance(v, _BYTES_LIKE):
            return True
        elif isinstance(v, dict):
            extend(cast("dict[Any, Any]", v).values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            extend(cast("list[Any]", v))
        elif isinstance(v, BaseModel) or (dataclasses.is_dataclass(v) and not isinstance(v, type)):
            push(to_plain(v))
    return False


def cut(value: Any) -> tuple[Any, list[bytes]]:
    """``value`` (plain data: dicts, lists, tuples, sets, scalars and other leaves `to_json`
    knows) with each `bytes`, `bytearray` or `memoryview` replaced by a placeholder, and the
    attachments in placeholder order. Tuples and sets become lists (as in JSON).

    Raises `AttachmentError` for a dict shaped like a placeholder (a single ``"$bin"`` key):
    the receiver would take it for one."""
    blobs: list[bytes] = []
    return _cut(value, blobs), blobs


def _cut(value: Any, blobs: list[bytes]) -> Any:
    t = value.__class__
    if t in _SCALARS:
        return value
    if t is bytes:
        blobs.append(value)
        return {PLACEHOLDER: len(blobs) - 1}
    if isinstance(value, (bytearray, memoryview)):
        blobs.append(bytes(cast("bytearray | memoryview[int]", value)))
        return {PLACEHOLDER: len(blobs) - 1}
    if isinstance(value, dict):
        d = cast("dict[Any, Any]", value)
        if len(d) == 1 and PLACEHOLDER in d:
            raise AttachmentError(
                f'a dict whose only key is "{PLACEHOLDER}" would be read as an attachment placeholder '
                "(docs/binary.md): give it another key"
            )
        out: dict[Any, Any] = {}
        for k, v in d.items():
            try:
                out[k] = _cut(v, blobs)
            except AttachmentError as exc:
                exc.loc = (k, *exc.loc)
                raise
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items: list[Any] = []
        for i, v in enumerate(cast("list[Any]", value)):
            try:
                items.append(_cut(v, blobs))
            except AttachmentError as exc:
                exc.loc = (i, *exc.loc)
                raise
        return items
    return value  # a leaf `to_json` serializes (datetime, UUID, Decimal, Enum, ...)


def put_back(value: Any, blobs: list[bytes]) -> Any:
    """``value`` (as `pydantic_core.from_json` returns it; changed in place) with each
    placeholder replaced by its attachment. A dict with the single key ``"$bin"`` is a
    placeholder: one whose value is not the index of an attachment raises `AttachmentError`."""
    t = value.__class__
    if t is dict:
        d = cast("dict[str, Any]", value)
        if len(d) == 1 and PLACEHOLDER in d:
            index = d[PLACEHOLDER]
            if type(index) is not int or not 0 <= index < len(blobs):
                have = f"{len(blobs)} attachment{'' if len(blobs) == 1 else 's'}"
                shown = json.dumps({PLACEHOLDER: index})[:80]
                raise AttachmentError(f"the attachment placeholder {shown} names no attachment (the message has {have})")
            return blobs[index]
        for k, v in d.items():
            if type(v) in _SCALARS:
                continue
            try:
                d[k] = put_back(v, blobs)  # same keys: safe while iterating
            except AttachmentError as exc:
                exc.loc = (k, *exc.loc)
                raise
        return d
    if t is list:
        items = cast("list[Any]", value)
        for i, v in enumerate(items):
            if type(v) in _SCALARS:
                continue
            try:
                items[i] = put_back(v, blobs)
            except AttachmentError as exc:
                exc.loc = (i, *exc.loc)
                raise
        return items
    return value
