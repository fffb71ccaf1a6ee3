"""A small app whose contract the CLI tests print."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from auroraview import Commands, InvokeException, WebView

commands = Commands()


class FieldError(BaseModel):
    field: str


class NameTaken(InvokeException):
    """Another object already has this name."""

    code = "name_taken"
    data_type = FieldError


class Node(BaseModel):
    """A scene node."""

    model_config = ConfigDict(frozen=True)
    id: int
    name: str = Field(description="Unique in the scene")
    children: list[Node] = []


class Selection(BaseModel):
    ids: list[int]
    source: Literal["host", "page"]


@commands.command(errors=[NameTaken])
async def rename(node_id: int, new_name: str, when: dt.datetime | None = None) -> Node:
    """Rename a node."""
    raise NameTaken("taken", data=FieldError(field="new_name"))


commands.declare_event("selection_changed", Selection, doc="Selection made in the host.")


@commands.on("export_scene")
def on_export(path: str) -> None:
    """The page asks for an export."""


view = WebView(title="x", commands=commands)
not_a_registry = 42


def broken() -> None:
    raise RuntimeError("boom")
