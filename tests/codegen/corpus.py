"""The fidelity corpus: one command (or event) per shape the generator must render.

`tests/python/test_codegen.py` generates `corpus.gen.ts` from it, compares it with the
checked-in golden file, compiles it with `tsc --strict`, and checks `typecheck.ts` (code
that must compile and `@ts-expect-error` lines that must not).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from auroraview import Commands, InvokeException

commands = Commands()


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Vec3(BaseModel):
    """A point in space."""

    x: float
    y: float
    z: float = 0.0


class Frozen(BaseModel):
    """An immutable record."""

    model_config = ConfigDict(frozen=True)
    key: str
    version: int


class TreeNode(BaseModel):
    """A recursive tree."""

    name: str = Field(description="The node's label")
    children: list[TreeNode] = []


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool


class Aliased(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    user_name: str = Field(alias="userName")


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass(frozen=True)
class FrozenPoint:
    x: int
    y: int


class Options(TypedDict):
    recursive: bool
    depth: NotRequired[int]


class FieldError(BaseModel):
    field: str
    reason: str


class NameTaken(InvokeException):
    """The name is used by another object."""

    code = "name_taken"
    data_type = FieldError


class NotFound(InvokeException):
    """No such object."""

    code = "not_found"


@commands.command()
async def no_params() -> None:
    """Takes nothing, returns nothing."""


@commands.command()
async def primitives(s: str, i: int, f: float, b: bool) -> str:
    return s


@commands.command()
async def optional_vs_default(required_opt: Optional[int], defaulted: int = 3, both: Optional[str] = None) -> int:
    return defaulted


@commands.command()
async def all_optional(page: int = 1, size: int = 20) -> list[int]:
    return []


@commands.command()
async def literals(mode: Literal["fast", "slow"], level: Literal[1, 2, 3]) -> Literal["ok", "failed"]:
    return "ok"


@commands.command()
async def enums(color: Color, priority: Priority) -> Color:
    return color


@commands.command()
async def model_in_out(v: Vec3) -> Vec3:
    return v


@commands.command()
async def frozen_model(f: Frozen) -> Frozen:
    return f


@commands.command()
async def recursive(root: TreeNode) -> TreeNode:
    return root


@commands.command()
async def discriminated(pet: Annotated[Union[Cat, Dog], Field(discriminator="kind")]) -> Union[Cat, Dog]:
    return pet


@commands.command()
async def plain_union(value: Union[int, str, None]) -> Union[int, str]:
    return 0


@commands.command()
async def dicts(scores: dict[str, float], nested: dict[str, list[int]]) -> dict[str, Vec3]:
    return {}


@commands.command()
async def tuples(pair: tuple[int, str], many: tuple[float, ...]) -> tuple[str, int, bool]:
    return ("", 0, True)


@commands.command()
async def collections(items: list[Vec3], tags: set[str], frozen: frozenset[int]) -> list[list[str]]:
    return []


@commands.command()
async def dataclasses_in_out(p: Point, fp: FrozenPoint) -> FrozenPoint:
    return fp


@commands.command()
async def typed_dict(options: Options) -> Options:
    return options


@commands.command()
async def times(at: dt.datetime, day: dt.date, clock: dt.time, span: dt.timedelta) -> dt.datetime:
    return at


@commands.command()
async def ids_and_money(id: uuid.UUID, amount: Decimal) -> uuid.UUID:
    return id


@commands.command()
async def raw_bytes(data: bytes) -> bytes:
    return data


@commands.command()
async def anything(value: Any) -> Any:
    return value


@commands.command()
async def constrained(
    name: Annotated[str, Field(min_length=1, max_length=10, description="A short name")],
    count: Annotated[int, Field(ge=0, le=100)],
) -> int:
    return count


@commands.command()
async def aliased(a: Aliased) -> Aliased:
    return a


@commands.command("api.dotted_name")
async def dotted() -> str:
    """A namespaced command name."""
    return ""


@commands.command()
def sync_handler(x: int) -> int:
    return x


@commands.command(errors=[NameTaken, NotFound])
async def declared_errors(node_id: int, new_name: str) -> bool:
    """Rename, with declared errors."""
    return True


@commands.command()
async def keyword_only(a: int, *, flag: bool = False) -> int:
    return a


@commands.command()
async def nested_generics(data: dict[str, list[dict[str, Optional[int]]]]) -> list[tuple[str, list[int]]]:
    return []


@commands.command(timeout=5)
async def with_timeout() -> None:
    """Has a server-side timeout."""


commands.declare_event("selection_changed", list[int], doc="Selected ids.")
commands.declare_event("progress", Vec3)
commands.declare_event("pet_changed", Annotated[Union[Cat, Dog], Field(discriminator="kind")])


@commands.on("export_scene")
def on_export(request: Options) -> None:
    """Export requested by the page."""


@commands.on("ping")
def on_ping() -> None:
    """No payload."""
