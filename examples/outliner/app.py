"""outliner: a scene-tree tool of the kind built for DCC applications.

The page renders the scene; rename and delete go through typed commands whose validation
errors the page shows; selection made in "the DCC" (Python) is pushed to the page.

    python examples/outliner/app.py       # opens the window (needs a display)
    auroraview serve app:commands --assets ui   # (in this folder) the same page in a browser tab
    auroraview codegen app:commands --out ui/src/outliner.gen.ts   # (in this folder) the page's typed bindings
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from auroraview import Commands, InvokeException, WebView

UI = Path(__file__).parent / "ui"

NodeKind = Literal["group", "mesh", "light", "camera"]
# A DCC-style object name: starts with a letter, then letters, digits or underscores.
ObjectName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class Node(BaseModel):
    """One object in the scene."""

    id: int
    name: str
    kind: NodeKind
    children: list[Node] = []


class Selection(BaseModel):
    """Objects selected in the host application."""

    ids: list[int]
    source: Literal["host", "page"]


class FieldError(BaseModel):
    """Which input an error is about."""

    field: str


class NameTaken(InvokeException):
    """Another object already has this name."""

    code = "name_taken"
    data_type = FieldError


class NotFound(InvokeException):
    """No object has this id."""

    code = "not_found"


class Scene:
    """The host application's scene (a stand-in for Maya's or Blender's)."""

    def __init__(self) -> None:
        ids = itertools.count(1)

        def n(name: str, kind: NodeKind, *children: Node) -> Node:
            return Node(id=next(ids), name=name, kind=kind, children=list(children))

        self.root = n(
            "world",
            "group",
            n("set", "group", n("floor", "mesh"), n("table", "mesh"), n("chair_01", "mesh"), n("chair_02", "mesh")),
            n("characters", "group", n("hero", "mesh"), n("sidekick", "mesh")),
            n("lighting", "group", n("key_light", "light"), n("fill_light", "light"), n("rim_light", "light")),
            n("shot_cam", "camera"),
        )

    def walk(self, node: Node | None = None) -> Iterator[Node]:
        node = node or self.root
        yield node
        for child in node.children:
            yield from self.walk(child)

    def find(self, node_id: int) -> Node:
        for node in self.walk():
            if node.id == node_id:
                return node
        raise NotFound(f"no object with id {node_id}", code="not_found", data={"id": node_id})


scene = Scene()
commands = Commands()
commands.declare_event("scene_changed", Node, doc="The scene after a change.")
commands.declare_event("selection_changed", Selection, doc="Objects selected in the host or the page.")


@commands.command()
async def get_scene() -> Node:
    """The whole scene tree."""
    return scene.root


@commands.command(errors=[NameTaken, NotFound])
def rename(node_id: int, new_name: ObjectName) -> Node:
    """Rename an object; names are unique in the scene."""
    node = scene.find(node_id)
    if any(other.name == new_name and other.id != node_id for other in scene.walk()):
        raise NameTaken(f"{new_name!r} is already used", data=FieldError(field="new_name"))
    node.name = new_name
    commands.emit("scene_changed", scene.root)
    return node


@commands.command(errors=[NotFound])
def delete(node_id: int) -> list[int]:
    """Delete an object and everything under it; returns the ids removed."""
    if node_id == scene.root.id:
        raise InvokeException("the world cannot be deleted", code="forbidden_root")
    target = scene.find(node_id)
    removed = [n.id for n in scene.walk(target)]
    for parent in scene.walk():
        parent.children = [c for c in parent.children if c.id != node_id]
    commands.emit("scene_changed", scene.root)
    return removed


@commands.command(errors=[NotFound])
def host_select(ids: list[int]) -> Selection:
    """Select objects in the host (as a click in the DCC's viewport would): every page is
    told through `selection_changed`. Served, from a terminal:
    `auroraview call URL host_select '{"ids": [9, 10]}'`."""
    for node_id in ids:
        scene.find(node_id)
    selection = Selection(ids=ids, source="host")
    commands.emit("selection_changed", selection)
    return selection


@commands.on("select")
def on_select(selection: Selection) -> None:
    """The page selected objects (a real tool would select them in the DCC)."""
    commands.emit("selection_changed", Selection(ids=selection.ids, source="page"))


def create_app(**window_options: Any) -> WebView:
    """The outliner window (its page is ui/, compiled from ui/src by `make setup`); options go to `WebView`."""
    return WebView(title="Outliner", assets=UI, width=900, height=640, commands=commands, **window_options)


if __name__ == "__main__":
    create_app().show()
