"""The contract: everything a page (or the TypeScript generator) needs to know about a
registry, as one JSON document.

Params are described in pydantic's *validation* mode (what a caller may send), results and
page-bound event payloads in *serialization* mode (what the page receives); models used in
both modes with different shapes get separate `-Input`/`-Output` definitions. All schemas
share one `$defs`.
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from . import _core
from .commands import Commands
from .errors import ERROR_CODES, InvokeException

__all__ = ["CONTRACT_VERSION", "build_contract"]

#: Version of the contract document's own layout.
CONTRACT_VERSION = 1


def _error_entry(err: type[InvokeException]) -> dict[str, Any]:
    return {"name": err.__name__, "code": err.code, "doc": inspect.getdoc(err) if err.__doc__ else None}


class _ContractJsonSchema(GenerateJsonSchema):
    """pydantic's JSON Schema, plus ``readOnly`` on frozen models (TypeScript `readonly`),
    and, in serialization mode, model and dataclass fields with defaults marked required:
    a result always carries them, so the page may rely on them."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization" and field.get("type") in ("model-field", "dataclass-field"):
            return not field.get("serialization_exclude")
        return super().field_is_required(field, total)

    def model_schema(self, schema: Any) -> Any:
        json_schema = super().model_schema(schema)
        if getattr(schema.get("cls"), "model_config", {}).get("frozen"):
            json_schema["readOnly"] = True
        return json_schema

    def dataclass_schema(self, schema: Any) -> Any:
        json_schema = super().dataclass_schema(schema)
        params = getattr(schema.get("cls"), "__dataclass_params__", None)
        if params is not None and params.frozen:
            json_schema["readOnly"] = True
        return json_schema


def build_contract(commands: Commands) -> dict[str, Any]:
    """The contract document of `commands` (deterministic: sorted by name)."""
    inputs: list[tuple[tuple[str, str], JsonSchemaMode, Any]] = []
    cmds = sorted(commands, key=lambda c: c.name)
    events = sorted(commands.events(), key=lambda e: e.name)
    errors: dict[str, type[InvokeException]] = {}
    for cmd in cmds:
        inputs.append(((cmd.name, "params"), "validation", cmd.params_schema))
        inputs.append(((cmd.name, "result"), "serialization", cmd.result.core_schema))
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

    generator = _ContractJsonSchema(ref_template="#/$defs/{model}")
    mapping, defs = generator.generate_definitions(inputs) if inputs else ({}, {})
    schema = {key: value for (key, _mode), value in mapping.items()}

    return {
        "contract_version": CONTRACT_VERSION,
        "protocol_version": _core.PROTOCOL_VERSION,
        "error_codes": list(ERROR_CODES),
        "commands": [
            {
                "name": cmd.name,
                "doc": cmd.doc,
                "params": schema[(cmd.name, "params")],
                "result": schema[(cmd.name, "result")],
                "errors": sorted(err.__name__ for err in cmd.errors),
                "timeout": cmd.timeout,
                "sync": not cmd.is_async,
            }
            for cmd in cmds
        ],
        "events": [
            {"name": e.name, "direction": e.direction, "doc": e.doc, "payload": schema[(e.name, "event")]}
            for e in events
        ],
        "errors": [
            {**_error_entry(err), "data": schema.get((name, "error"))} for name, err in sorted(errors.items())
        ],
        "$defs": dict(sorted(defs.items())),
    }
