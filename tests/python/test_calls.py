"""Calls through the real router: every kind of pydantic type in and out, params as an
object, an array or nothing, sync and async handlers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any, Literal, Optional, Union

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from auroraview import Commands, InvokeError, WebView
from auroraview.testing import TestClient


class Vec3(BaseModel):
    x: float
    y: float
    z: float = 0.0


class Node(BaseModel):
    """A scene node (recursive)."""

    name: str
    children: list[Node] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Options(TypedDict):
    recursive: bool
    depth: int


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool


commands = Commands()


@commands.command()
async def move(v: Vec3, by: float = 1.0) -> Vec3:
    return Vec3(x=v.x + by, y=v.y + by, z=v.z + by)


@commands.command()
def tree(root: Node) -> list[str]:
    out: list[str] = []

    def walk(n: Node) -> None:
        out.append(n.name)
        for c in n.children:
            walk(c)

    walk(root)
    return out


@commands.command()
async def swap(p: Point) -> Point:
    return Point(x=p.y, y=p.x)


@commands.command()
def options(o: Options) -> Options:
    return {"recursive": not o["recursive"], "depth": o["depth"] * 2}


@commands.command()
async def maybe(a: Optional[int] = None, b: Union[int, str] = 0) -> dict[str, Any]:
    return {"a": a, "b": b, "b_type": type(b).__name__}


@commands.command()
def mode(m: Literal["fast", "slow"], c: Color) -> str:
    return f"{m}/{c.value}"


@commands.command()
async def pet(p: Union[Cat, Dog] = Field(discriminator="kind")) -> str:
    return type(p).__name__


@commands.command()
def collections(xs: list[int], d: dict[str, float], t: tuple[int, str], s: set[int]) -> tuple[int, float, str, int]:
    return (sum(xs), sum(d.values()), t[1] * t[0], len(s))


@commands.command()
async def when(at: dt.datetime, day: dt.date, span: dt.timedelta) -> dt.datetime:
    return at + span + dt.timedelta(days=day.day)


@commands.command()
def ident(u: uuid.UUID, amount: Decimal) -> dict[str, Any]:
    return {"version": u.version, "u": u, "double": amount * 2}


@commands.command()
async def nothing() -> None:
    return None


@commands.command()
def keyword_only(a: int, *, scale: int = 10) -> int:
    return a * scale


@commands.command()
def untyped_result(a: int):  # type: ignore[no-untyped-def]
    return {"a": a}


@pytest.fixture
async def client():
    async with TestClient(commands) as c:
        yield c


async def test_models_in_and_out(client: TestClient) -> None:
    assert await client.call("move", {"v": {"x": 1, "y": 2}}) == {"x": 2.0, "y": 3.0, "z": 1.0}
    assert await client.call("move", {"v": {"x": 1, "y": 2, "z": 3}, "by": -1}) == {"x": 0.0, "y": 1.0, "z": 2.0}


async def test_recursive_models(client: TestClient) -> None:
    root = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}, {"name": "d"}]}
    assert await client.call("tree", {"root": root}) == ["a", "b", "c", "d"]


async def test_dataclass_and_typeddict(client: TestClient) -> None:
    assert await client.call("swap", {"p": {"x": 1, "y": 2}}) == {"x": 2, "y": 1}
    assert await client.call("options", {"o": {"recursive": True, "depth": 3}}) == {"recursive": False, "depth": 6}


async def test_optional_union_literal_enum(client: TestClient) -> None:
    assert await client.call("maybe") == {"a": None, "b": 0, "b_type": "int"}
    assert await client.call("maybe", {"a": 5, "b": "x"}) == {"a": 5, "b": "x", "b_type": "str"}
    assert await client.call("mode", {"m": "fast", "c": "green"}) == "fast/green"
    with pytest.raises(InvokeError) as info:
        await client.call("mode", {"m": "medium", "c": "red"})
    assert info.value.code == "invalid_params"
    assert info.value.data["errors"][0]["loc"] == ["m"]


async def test_discriminated_union(client: TestClient) -> None:
    assert await client.call("pet", {"p": {"kind": "dog", "good": True}}) == "Dog"
    assert await client.call("pet", {"p": {"kind": "cat", "lives": 9}}) == "Cat"


async def test_collections(client: TestClient) -> None:
    result = await client.call("collections", {"xs": [1, 2, 3], "d": {"a": 0.5, "b": 1.5}, "t": [2, "ab"], "s": [1, 1, 2]})
    assert result == [6, 2.0, "abab", 2]


async def test_datetime_uuid_decimal(client: TestClient) -> None:
    out = await client.call(
        "when", {"at": "2026-01-01T10:00:00Z", "day": "2026-03-02", "span": "PT1H"}
    )
    assert out == "2026-01-03T11:00:00Z"
    u = uuid.uuid4()
    assert await client.call("ident", {"u": str(u), "amount": "1.25"}) == {"version": 4, "u": str(u), "double": "2.50"}


async def test_params_as_array_object_or_nothing(client: TestClient) -> None:
    assert await client.call("keyword_only", [3]) == 30
    assert await client.call("keyword_only", {"a": 3, "scale": 2}) == 6
    assert await client.call("nothing") is None
    assert await client.call("nothing", {}) is None
    assert await client.call("nothing", []) is None
    with pytest.raises(InvokeError) as info:
        await client.call("nothing", [1])
    assert info.value.code == "invalid_params"


async def test_unannotated_return_is_serialized_as_any(client: TestClient) -> None:
    assert await client.call("untyped_result", {"a": 1}) == {"a": 1}


async def test_string_and_numeric_ids_round_trip(client: TestClient) -> None:
    for raw_id in ('"abc"', "0", "-9007199254740991", "9007199254740991"):
        reply = await client.send_raw(f'{{"type":"call","id":{raw_id},"method":"nothing"}}')
        assert reply == f'{{"type":"call_result","id":{raw_id},"ok":true,"result":null}}'


async def test_webview_registry_through_test_client() -> None:
    view = WebView(title="Outliner")

    @view.bind_call("api.rename_object")
    def rename_object(old_name: str, new_name: str) -> dict[str, Any]:
        return {"ok": True, "old": old_name, "new": new_name}

    async with TestClient(view) as client:
        assert await client.call("api.rename_object", {"old_name": "cube1", "new_name": "hero"}) == {
            "ok": True,
            "old": "cube1",
            "new": "hero",
        }


async def test_bind_api_methods_are_callable() -> None:
    class API:
        def __init__(self) -> None:
            self.saved: list[str] = []

        def get_data(self) -> dict[str, Any]:
            return {"items": [1, 2, 3], "count": 3}

        async def save(self, path: str) -> bool:
            self.saved.append(path)
            return True

    api = API()
    commands = Commands()
    commands.bind_api(api)
    async with TestClient(commands) as client:
        assert await client.call("api.get_data") == {"items": [1, 2, 3], "count": 3}
        assert await client.call("api.save", {"path": "/tmp/x"}) is True
    assert api.saved == ["/tmp/x"]


async def test_commands_added_while_running_are_served() -> None:
    commands = Commands()
    async with TestClient(commands) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("late")
        assert info.value.code == "method_not_found"
        commands.add(lambda: "here", "late")
        assert await client.call("late") == "here"
