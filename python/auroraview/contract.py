"""The contract: everything a page (or the TypeScript generator) needs to know about a
registry, as one JSON document, with the TypeScript name of every shared type chosen here.

Params are described in pydantic's *validation* mode (what a caller may send), results and
page-bound event payloads in *serialization* mode (what the page receives). All schemas
share one `$defs`, keyed by the type's TypeScript name (rules in docs/codegen.md):

- a type is named after its class (or its ``__ts_name__`` class attribute, when set);
- its output shape keeps that name; its input shape gets an ``Input`` suffix only when the
  two shapes differ, which depends on the class alone (both shapes are always computed);
- a class whose name is already taken by a different class (same name, other module) gets
  the nearest module component that tells them apart (``billing.models.Message`` →
  ``BillingMessage``); names are handed out in registration order, so adding a command
  never renames a type an earlier command produced;
- an explicit ``__ts_name__`` taken by another class is an error naming both.

Topics (docs/topics.md) come last: their payload in serialization mode (what subscribers
receive) and in validation mode (what a publish must be), so declaring one never renames a
type a command, event or error produced.

Each definition carries ``x-python`` (the Python type) so the generator can say which types
clash with the names it makes itself (``*Params``, built-ins, the SDK's imports).
Field docs come from ``Field(description=...)`` and from attribute docstrings.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Iterator
from typing import Any, cast

from pydantic import TypeAdapter
from pydantic.json_schema import CoreModeRef, DefsRef, GenerateJsonSchema, JsonSchemaMode

from . import _core
from .commands import Command, Commands
from .errors import ERROR_CODES, InvokeException

__all__ = ["CONTRACT_VERSION", "build_contract"]

#: Version of the contract document's own layout, defined once by the generator that reads it
#: (codegen/src/contract.rs), which refuses any other.
CONTRACT_VERSION: int = _core.CONTRACT_VERSION

_IDENT = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_REF_PREFIX = "#/$defs/"


def _error_entry(err: type[InvokeException]) -> dict[str, Any]:
    return {"name": err.__name__, "code": err.code, "doc": inspect.getdoc(err) if err.__doc__ else None}


_docs_cache: dict[type, dict[str, str]] = {}


def _attribute_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` for ``x: int`` followed by a string literal, through the MRO
    (what pydantic's ``use_attribute_docstrings`` reads, without the user opting in)."""
    cached = _docs_cache.get(cls)
    if cached is not None:
        return cached
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ in ("builtins", "typing", "typing_extensions", "enum") or klass.__module__.startswith("pydantic"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except Exception:  # noqa: BLE001 - no source (built dynamically, a REPL, a zip without sources)
            continue
        if not tree.body or not isinstance(tree.body[0], ast.ClassDef):
            continue
        body = tree.body[0].body
        for stmt, after in zip(body, body[1:]):
            if (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[stmt.target.id] = inspect.cleandoc(after.value.value)
    _docs_cache[cls] = docs
    return docs


def _field_keys(cls: type, name: str) -> list[str]:
    """The JSON keys a field may appear under (its name and its aliases)."""
    keys = [name]
    info = cast("dict[str, Any]", getattr(cls, "__pydantic_fields__", None) or {}).get(name)
    if info is not None:
        for alias in (info.alias, info.validation_alias, info.serialization_alias):
            if isinstance(alias, str):
                keys.append(alias)
    return keys


class _ContractJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, plus ``readOnly`` on frozen models (TypeScript `readonly`),
    attribute docstrings as field descriptions, and, in serialization mode, model and
    dataclass fields with defaults marked required: a result always carries them, so the
    page may rely on them. Definition keys are opaque (``d0``, ``d1``, ...) and never
    merged: `build_contract` names them."""

    def __init__(self) -> None:
        super().__init__(ref_template=_REF_PREFIX + "{model}")
        self.origin: dict[str, CoreModeRef] = {}
        self._keys: dict[CoreModeRef, DefsRef] = {}

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        key = self._keys.get(core_mode_ref)
        if key is None:
            key = DefsRef(f"d{len(self._keys)}")
            self._keys[core_mode_ref] = key
            self.origin[key] = core_mode_ref
            self._prioritized_defsref_choices[key] = [key]
        return key

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization" and field.get("type") in ("model-field", "dataclass-field"):
            return not field.get("serialization_exclude")
        return super().field_is_required(field, total)

    def _add_docs(self, cls: Any, json_schema: Any) -> None:
        props: Any = cast("dict[str, Any]", json_schema).get("properties") if isinstance(json_schema, dict) else None
        if isinstance(cls, type) and isinstance(props, dict):  # pyright: ignore[reportUnknownArgumentType]
            properties = cast("dict[str, Any]", props)
            for name, doc in _attribute_docs(cls).items():
                for key in _field_keys(cls, name):
                    prop = properties.get(key)
                    if isinstance(prop, dict) and "description" not in prop:
                        cast("dict[str, Any]", prop)["description"] = doc

    def model_schema(self, schema: Any) -> Any:
        json_schema = super().model_schema(schema)
        self._add_docs(schema.get("cls"), json_schema)
        if getattr(schema.get("cls"), "model_config", {}).get("frozen"):
            json_schema["readOnly"] = True
        return json_schema

    def dataclass_schema(self, schema: Any) -> Any:
        json_schema = super().dataclass_schema(schema)
        self._add_docs(schema.get("cls"), json_schema)
        params = getattr(schema.get("cls"), "__dataclass_params__", None)
        if params is not None and params.frozen:
            json_schema["readOnly"] = True
        return json_schema

    def typed_dict_schema(self, schema: Any) -> Any:
        json_schema = super().typed_dict_schema(schema)
        self._add_docs(schema.get("cls"), json_schema)
        return json_schema


def _definitions(schema: Any, found: dict[str, Any]) -> None:
    """Every core schema in ``schema`` that defines a ref (a model, dataclass, TypedDict,
    enum, alias...), by ref: generated in both modes so each can be compared."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            d = cast("dict[str, Any]", item)
            ref = d.get("ref")
            if isinstance(ref, str) and d.get("type") != "definition-ref" and ref not in found:
                found[ref] = d
            stack.extend(v for k, v in d.items() if k not in ("cls", "metadata", "ref"))
        elif isinstance(item, (list, tuple)):
            stack.extend(cast("list[Any]", item))


def _refs(schema: Any) -> Iterator[str]:
    """The definition keys ``schema`` refers to, in document order."""
    if isinstance(schema, dict):
        d = cast("dict[str, Any]", schema)
        ref = d.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            yield ref[len(_REF_PREFIX) :]
        for v in d.values():
            yield from _refs(v)
    elif isinstance(schema, list):
        for v in cast("list[Any]", schema):
            yield from _refs(v)


def _rewrite(schema: Any, names: dict[str, str]) -> Any:
    if isinstance(schema, dict):
        d = cast("dict[str, Any]", schema)
        out = {k: _rewrite(v, names) for k, v in d.items()}
        ref = d.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
            out["$ref"] = _REF_PREFIX + names[ref[len(_REF_PREFIX) :]]
        return out
    if isinstance(schema, list):
        return [_rewrite(v, names) for v in cast("list[Any]", schema)]
    return schema


def _pascal(text: str) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    name = "".join(w[:1].upper() + w[1:] for w in words)
    return "_" + name if not name or name[0].isdigit() else name


def _python_path(core_ref: str, cls: Any) -> str:
    if isinstance(cls, type):
        return f"{cls.__module__}.{cls.__qualname__}"
    return re.sub(r":\d+", "", core_ref)


class _Namer:
    """Hands out TypeScript names in registration order (see the module docstring)."""

    def __init__(self, classes: dict[str, Any]) -> None:
        self.classes = classes
        self.owner: dict[str, str] = {}  # TS name → core ref
        self.base: dict[str, str] = {}  # core ref → its TS name (output shape)

    def _path_parts(self, core_ref: str) -> list[str]:
        cls = self.classes.get(core_ref)
        path = _python_path(core_ref, cls).split(".")
        return [p for p in path[:-1] if _IDENT.match(p)]

    def _free(self, core_ref: str, names: list[str]) -> bool:
        return all(self.owner.get(n, core_ref) == core_ref for n in names)

    def name(self, core_ref: str, differs: bool) -> str:
        known = self.base.get(core_ref)
        if known is not None:
            return known
        cls = self.classes.get(core_ref)
        # Its own attribute only: a subclass does not inherit its parent's name.
        explicit = vars(cls).get("__ts_name__") if isinstance(cls, type) else None

        def wanted(base: str) -> list[str]:
            return [base, base + "Input"] if differs else [base]

        if explicit is not None:
            if not (isinstance(explicit, str) and _IDENT.match(explicit)):
                raise ValueError(
                    f"{_python_path(core_ref, cls)}.__ts_name__ must be a TypeScript identifier, got {explicit!r}"
                )
            for n in wanted(explicit):
                holder = self.owner.get(n, core_ref)
                if holder != core_ref:
                    raise ValueError(
                        f"{_python_path(core_ref, cls)} asks for the TypeScript name {n!r} (__ts_name__), "
                        f"which {_python_path(holder, self.classes.get(holder))} already has: "
                        "give one of them a different __ts_name__"
                    )
            return self._claim(core_ref, explicit, wanted(explicit))
        if isinstance(cls, type):
            simple = _pascal(cls.__name__)
        else:
            simple = _pascal(re.sub(r"(?:[^.\[\],]+\.)+", "", re.sub(r":\d+", "", core_ref)))
        if self._free(core_ref, wanted(simple)):
            return self._claim(core_ref, simple, wanted(simple))
        # Taken by another type: prefix the nearest module components that differ.
        holder = self.owner.get(simple) or self.owner.get(simple + "Input") or ""
        mine, theirs = self._path_parts(core_ref), self._path_parts(holder)
        start = len(mine)
        for i in range(1, len(mine) + 1):
            if i > len(theirs) or mine[-i] != theirs[-i]:
                start = len(mine) - i
                break
        for lo in range(start, -1, -1):
            candidate = "".join(_pascal(p) for p in mine[lo : start + 1]) + simple
            if self._free(core_ref, wanted(candidate)):
                return self._claim(core_ref, candidate, wanted(candidate))
        n = 2
        while not self._free(core_ref, wanted(f"{simple}{n}")):
            n += 1
        return self._claim(core_ref, f"{simple}{n}", wanted(f"{simple}{n}"))

    def _claim(self, core_ref: str, base: str, names: list[str]) -> str:
        for n in names:
            self.owner[n] = core_ref
        self.base[core_ref] = base
        return base


def _stream_entry(cmd: Command, schema: dict[tuple[str, str], Any], names: dict[str, str]) -> dict[str, Any]:
    """A stream command's ``stream`` (its item schema), a channel command's ``channel``
    (the parameter and its item schema): docs/streams.md."""
    if cmd.stream is not None:
        return {"stream": _rewrite(schema[(cmd.name, "item")], names)}
    if cmd.channel is not None:
        return {"channel": {"param": cmd.channel, "item": _rewrite(schema[(cmd.name, "item")], names)}}
    return {}


def build_contract(commands: Commands) -> dict[str, Any]:
    """The contract document of `commands` (deterministic: sorted by name; type names
    given in registration order)."""
    inputs: list[tuple[tuple[str, str], JsonSchemaMode, Any]] = []
    events = commands.events()
    errors: dict[str, type[InvokeException]] = {}
    for cmd in commands:
        inputs.append(((cmd.name, "params"), "validation", cmd.params_schema))
        inputs.append(((cmd.name, "result"), "serialization", cmd.result.core_schema))
        item = cmd.stream or cmd.channel_item
        if item is not None:
            inputs.append(((cmd.name, "item"), "serialization", item.core_schema))
        for err in cmd.errors:
            known = errors.setdefault(err.__name__, err)
            if known is not err:
                raise TypeError(f"two different error classes are named {err.__name__!r}: {known!r} and {err!r}")
    for event in events:
        mode: JsonSchemaMode = "serialization" if event.direction == "to_page" else "validation"
        inputs.append(((event.name, "event"), mode, event.payload.core_schema))
    for name, err in errors.items():
        if err.data_type is not None:
            inputs.append(((name, "error"), "serialization", TypeAdapter(err.data_type).core_schema))
    # Topics last: declaring one never renames a type a command, event or error produced.
    topics = commands.topics()
    for topic in topics:
        inputs.append(((topic.name, "topic"), "serialization", topic.payload.core_schema))
        inputs.append(((topic.name, "topic_input"), "validation", topic.payload.core_schema))

    # Every definition in both modes, so whether a type's input shape differs from its
    # output shape depends on the type alone, never on which commands use it.
    found: dict[str, Any] = {}
    for _key, _mode, core in inputs:
        _definitions(core, found)
    both: list[tuple[tuple[str, str], JsonSchemaMode, Any]] = [
        ((ref, m), m, core) for ref, core in found.items() for m in ("validation", "serialization")
    ]
    generator = _ContractJsonSchema()
    try:
        mapping, all_defs = generator.generate_definitions([*inputs, *both]) if inputs else ({}, {})
    except Exception:  # noqa: BLE001 - a type with no schema in the mode it is not used in: compare what exists
        generator = _ContractJsonSchema()
        mapping, all_defs = generator.generate_definitions(inputs) if inputs else ({}, {})
    defs: dict[str, Any] = {str(k): v for k, v in all_defs.items()}
    schema = {key: value for (key, _m), value in mapping.items() if key[1] in ("params", "result", "item", "event", "error", "topic", "topic_input")}
    classes: dict[str, Any] = {ref: core.get("cls") for ref, core in found.items()}

    # Does each type's input shape differ from its output shape (its own fields, or any type
    # it refers to)?
    by_ref: dict[str, dict[str, str]] = {}
    for key, (core_ref, m) in generator.origin.items():
        if key in defs:
            by_ref.setdefault(core_ref, {})[m] = key

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            d = cast("dict[str, Any]", value)
            ref = d.get("$ref")
            out = {k: canonical(v) for k, v in d.items() if k != "$ref"}
            if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                out["$ref"] = generator.origin[ref[len(_REF_PREFIX) :]][0]
            return out
        if isinstance(value, list):
            return [canonical(v) for v in cast("list[Any]", value)]
        return value

    differs: dict[str, bool] = {}
    deps: dict[str, set[str]] = {}
    for core_ref, modes in by_ref.items():
        v, s = modes.get("validation"), modes.get("serialization")
        differs[core_ref] = v is None or s is None or canonical(defs[v]) != canonical(defs[s])
        deps[core_ref] = {generator.origin[r][0] for key in modes.values() for r in _refs(defs[key])}
    changed = True
    while changed:
        changed = False
        for core_ref, ds in deps.items():
            if not differs[core_ref] and any(differs.get(d, False) for d in ds):
                differs[core_ref] = changed = True

    # Names, in registration order of what first reaches each definition.
    namer = _Namer(classes)
    names: dict[str, str] = {}
    order: list[str] = []
    seen: set[str] = set()

    def visit(value: Any) -> None:
        for key in _refs(value):
            if key not in seen:
                seen.add(key)
                order.append(key)
                visit(defs[key])

    for value in schema.values():
        visit(value)
    for key in order:
        core_ref, m = generator.origin[key]
        base = namer.name(core_ref, differs.get(core_ref, True))
        names[key] = base + "Input" if m == "validation" and differs.get(core_ref, True) else base

    out_defs: dict[str, Any] = {}
    for key in order:
        core_ref, _m = generator.origin[key]
        out_defs[names[key]] = {**_rewrite(defs[key], names), "x-python": _python_path(core_ref, classes.get(core_ref))}

    cmds = sorted(commands, key=lambda c: c.name)
    return {
        "contract_version": CONTRACT_VERSION,
        "protocol_version": _core.PROTOCOL_VERSION,
        "error_codes": list(ERROR_CODES),
        "commands": [
            {
                "name": cmd.name,
                "doc": cmd.doc,
                "params": _rewrite(schema[(cmd.name, "params")], names),
                "result": _rewrite(schema[(cmd.name, "result")], names),
                "errors": sorted(err.__name__ for err in cmd.errors),
                "timeout": cmd.timeout,
                "sync": not cmd.is_async,
                "binary": cmd.binary,
                "python": f"{getattr(cmd.fn, '__module__', '?')}.{getattr(cmd.fn, '__qualname__', '?')}",
                **_stream_entry(cmd, schema, names),
            }
            for cmd in cmds
        ],
        "events": [
            {
                "name": e.name,
                "direction": e.direction,
                "doc": e.doc,
                "payload": _rewrite(schema[(e.name, "event")], names),
            }
            for e in sorted(events, key=lambda e: e.name)
        ],
        "errors": [
            {**_error_entry(err), "data": _rewrite(schema.get((name, "error")), names)}
            for name, err in sorted(errors.items())
        ],
        # docs/topics.md: what subscribers receive (serialization mode), what a publish must
        # be (validation mode), and whether clients may subscribe and publish at all (a `Rule`
        # counts as may: it is decided per connection).
        "topics": [
            {
                "name": t.name,
                "doc": t.doc,
                "payload": _rewrite(schema[(t.name, "topic")], names),
                "publish_payload": _rewrite(schema[(t.name, "topic_input")], names),
                "subscribe": t.subscribe is not False,
                "publish": t.publish is not False,
            }
            for t in sorted(topics, key=lambda t: t.name)
        ],
        "$defs": dict(sorted(out_defs.items())),
    }
