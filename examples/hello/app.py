"""hello: the smallest auroraview app — a typed command, an error the page can switch on,
and events both ways. `demo.py` drives it without a window."""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel, Field

from auroraview import Commands, InvokeException

log = logging.getLogger("hello")
commands = Commands()


class Greeting(BaseModel):
    """What `greet` returns."""

    message: str
    times_greeted: int


class Renamed(BaseModel):
    ok: bool
    old: str
    new: str


class NameTaken(InvokeException):
    """Raised when the new name is already used; `data` says by what."""


_names = {"cube1", "sphere1", "light1"}
_greeted: dict[str, int] = {}


@commands.command()
async def greet(name: str = Field(min_length=1, max_length=40)) -> Greeting:
    """Say hello; counts how often each name was greeted."""
    _greeted[name] = _greeted.get(name, 0) + 1
    await asyncio.sleep(0)  # a real handler would await I/O here
    return Greeting(message=f"Hello, {name}!", times_greeted=_greeted[name])


@commands.command("api.rename_object")
def rename_object(old_name: str, new_name: str) -> Renamed:
    """Rename a scene object (a sync handler: it runs in the worker pool)."""
    if old_name not in _names:
        raise InvokeException(f"no object named {old_name!r}", code="not_found", data={"field": "old_name"})
    if new_name in _names:
        raise NameTaken(f"{new_name!r} is already used", code="name_taken", data={"field": "new_name", "by": new_name})
    _names.remove(old_name)
    _names.add(new_name)
    commands.emit("scene_changed", sorted(_names))
    return Renamed(ok=True, old=old_name, new=new_name)


@commands.on("export_scene")
async def on_export(detail: dict[str, str]) -> None:
    log.info("export requested: %s", detail)
    commands.emit("export_done", {"path": detail.get("path", ""), "objects": len(_names)})
