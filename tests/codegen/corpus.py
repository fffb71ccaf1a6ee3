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
from typing import Annotated, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel
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
    return f"{s}|{i}|{f}|{b}"


@commands.command()
async def optional_vs_default(required_opt: Optional[int], defaulted: int = 3, both: Optional[str] = None) -> int:
    return (required_opt or 0) + defaulted + len(both or "")


@commands.command()
async def all_optional(page: int = 1, size: int = 20) -> list[int]:
    return [page, size]


@commands.command()
async def literals(mode: Literal["fast", "slow"], level: Literal[1, 2, 3]) -> Literal["ok", "failed"]:
    return "ok" if mode == "fast" else "failed"


@commands.command()
async def enums(color: Color, priority: Priority) -> Color:
    return Color.GREEN if priority == Priority.HIGH else color


@commands.command()
async def model_in_out(v: Vec3) -> Vec3:
    return Vec3(x=v.x * 2, y=v.y * 2, z=v.z * 2)


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
    return "none" if value is None else value


@commands.command()
async def dicts(scores: dict[str, float], nested: dict[str, list[int]]) -> dict[str, Vec3]:
    return {k: Vec3(x=v, y=float(sum(nested.get(k, []))), z=0) for k, v in scores.items()}


@commands.command()
async def tuples(pair: tuple[int, str], many: tuple[float, ...]) -> tuple[str, int, bool]:
    return (pair[1], pair[0] + len(many), bool(many))


@commands.command()
async def collections(items: list[Vec3], tags: set[str], frozen: frozenset[int]) -> list[list[str]]:
    return [sorted(tags), [str(len(items)), str(sum(frozen))]]


@commands.command()
async def dataclasses_in_out(p: Point, fp: FrozenPoint) -> FrozenPoint:
    return FrozenPoint(x=p.x + fp.x, y=p.y + fp.y)


@commands.command()
async def typed_dict(options: Options) -> Options:
    return options


@commands.command()
async def times(at: dt.datetime, day: dt.date, clock: dt.time, span: dt.timedelta) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=at.tzinfo) + span


@commands.command()
async def ids_and_money(id: uuid.UUID, amount: Decimal) -> dict[str, Any]:
    return {"id": id, "double": amount * 2, "version": id.version}


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
    return len(name) + count


@commands.command()
async def aliased(a: Aliased) -> Aliased:
    return a


@commands.command("api.dotted_name")
async def dotted() -> str:
    """A namespaced command name."""
    return "dotted"


@commands.command()
def sync_handler(x: int) -> int:
    return x * x


@commands.command(errors=[NameTaken, NotFound])
async def declared_errors(node_id: int, new_name: str) -> bool:
    """Rename, with declared errors."""
    if node_id == 0:
        raise NotFound("no object 0")
    if new_name == "taken":
        raise NameTaken("taken", data=FieldError(field="new_name", reason="used by 7"))
    return True


@commands.command()
async def keyword_only(a: int, *, flag: bool = False) -> int:
    return -a if flag else a


@commands.command()
async def nested_generics(data: dict[str, list[dict[str, Optional[int]]]]) -> list[tuple[str, list[int]]]:
    return [(k, [v for d in rows for v in d.values() if v is not None]) for k, rows in sorted(data.items())]


class Settings(BaseModel):
    """A model whose fields all have defaults."""

    enabled: bool = True
    threshold: float = 0.5
    label: Optional[str] = None


class Wrapped(RootModel[list[int]]):
    """A root model: the JSON is the list itself."""


@commands.command()
async def defaults_model(s: Settings) -> Settings:
    return s.model_copy(update={"threshold": s.threshold * 2})


@commands.command()
async def optional_model(v: Optional[Vec3] = None) -> Optional[Vec3]:
    return v


@commands.command()
async def root_model(w: Wrapped) -> Wrapped:
    return Wrapped(list(reversed(w.root)))


@commands.command()
async def int_keys(m: dict[int, str]) -> dict[int, str]:
    return {k * 10: v for k, v in m.items()}


@commands.command()
async def enum_lists(colors: list[Color], by_name: dict[str, Priority]) -> list[Priority]:
    return [by_name[c.value] for c in colors]


@commands.command()
def positional_only(a: int, b: int, /) -> int:
    return a - b


class Shape(BaseModel):
    """Generic-free nesting: a list of optional models inside a dict."""

    layers: dict[str, list[Optional[Vec3]]]


@commands.command()
async def nested_models(shape: Shape) -> int:
    return sum(len(v) for v in shape.layers.values())


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


# ── Real-world shapes: names, open enums, docs (docs/codegen.md) ───────────────────────

from typing import Generic, TypeVar  # noqa: E402

from shapes import billing, chat  # noqa: E402
from typing_extensions import TypeAliasType  # noqa: E402


class StreamStarted(BaseModel):
    """The first event of a stream."""

    type: Literal["stream.started"]
    stream_id: str


class TextDelta(BaseModel):
    type: Literal["text.delta"]
    index: int
    delta: str
    """Text appended since the last delta."""


class ToolCall(BaseModel):
    type: Literal["tool.call"]
    name: str
    arguments: dict[str, Any] = {}


class Usage(BaseModel):
    """Tokens used (same shape in and out: one name)."""

    input_tokens: int
    output_tokens: int


class StreamDone(BaseModel):
    type: Literal["stream.done"]
    usage: Usage


class StreamError(BaseModel):
    type: Literal["stream.error"]
    message: str
    retryable: bool = False


StreamEvent = Annotated[
    Union[StreamStarted, TextDelta, ToolCall, StreamDone, StreamError], Field(discriminator="type")
]

#: "Known values or anything": the editor keeps suggesting the known ones.
ModelName = Union[str, Literal["small", "large"]]


class Voice(str, enum.Enum):
    ALLOY = "alloy"
    ECHO = "echo"


class SpeechRequest(BaseModel):
    """A request with open enums and documented fields."""

    model: ModelName
    """Which model speaks; any name the server knows."""
    voice: Union[str, Voice] = Voice.ALLOY
    size: Optional[Union[str, Literal["256x256", "1024x1024"]]] = None
    speed: float = Field(1.0, description="Playback speed, 0.25 to 4.")


class Record(BaseModel):
    """A class named like a TypeScript built-in: emitted as `Record_`."""

    id: int


class Explicit(BaseModel):
    """Named by its class attribute."""

    __ts_name__: ClassVar[str] = "PublicName"
    value: int


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A generic page of items."""

    items: list[T]
    next_cursor: Optional[str] = None


Tags = TypeAliasType("Tags", list[str])
Id = TypeAliasType("Id", Annotated[int, Field(ge=0, description="A non-negative id.")])
Ids = TypeAliasType("Ids", list[Id])  # an alias of an alias
Json = TypeAliasType("Json", "Union[dict[str, Json], list[Json], str, int, float, bool, None]")


@commands.command()
async def stream_events(since: int = 0) -> list[StreamEvent]:
    """A big discriminated union, as a result."""
    return [StreamStarted(type="stream.started", stream_id="s"), StreamDone(type="stream.done", usage=Usage(input_tokens=1, output_tokens=2))]


@commands.command()
async def replay(event: StreamEvent) -> StreamEvent:
    """The same union as params (input shapes) and result (output shapes)."""
    return event


@commands.command()
async def speak(request: SpeechRequest) -> SpeechRequest:
    return request


@commands.command()
async def chat_message(m: chat.Message) -> chat.Message:
    return m


@commands.command()
async def invoice_line(m: billing.Message) -> billing.Message:
    return m


@commands.command()
async def records(r: Record, e: Explicit) -> list[Record]:
    return [r, Record(id=e.value)]


@commands.command()
async def page_of_usage(cursor: Optional[str] = None) -> Page[Usage]:
    return Page[Usage](items=[Usage(input_tokens=1, output_tokens=1)], next_cursor=cursor)


@commands.command()
async def aliases(tags: Tags, data: Json, ids: Ids = []) -> Json:  # noqa: B006
    return {"tags": list(tags), "data": data}


commands.declare_event("stream", StreamEvent, doc="Every event of a running stream.")


# ── Streams and channels (docs/streams.md) ─────────────────────────────────────────────

from collections.abc import AsyncIterator, Iterator  # noqa: E402

from auroraview import Channel  # noqa: E402


class Progress(BaseModel):
    """How far a job is."""

    done: int
    total: int


@commands.command()
async def watch(total: int) -> AsyncIterator[Progress]:
    """A stream: the page reads it with `for await`."""
    for done in range(1, total + 1):
        yield Progress(done=done, total=total)


@commands.command()
def count_sync(n: int = 3) -> Iterator[int]:
    """A sync generator (runs in the worker pool), with optional params."""
    yield from range(n)


@commands.command(errors=[NotFound])
async def export_with_progress(path: str, progress: Channel[Progress]) -> str:
    """A channel: items first, then the result."""
    if not path:
        raise NotFound("no path")
    for done in range(1, 4):
        await progress.send(Progress(done=done, total=3))
    return path


@commands.command()
def rebuild_with_log(log: Channel[str]) -> int:
    """A channel is the only parameter (a sync handler sends with `send_blocking`)."""
    for line in ("a", "b"):
        log.send_blocking(line)
    return 2


# ── Topics (docs/topics.md) ────────────────────────────────────────────────────────────


class SceneUpdate(BaseModel):
    """A change to one node of the scene."""

    node: str
    visible: bool = True


scene_updates = commands.topic("scene/updates", SceneUpdate, publish=True, doc="Every change to the scene, in order.")
status_topic = commands.topic("status", int, doc="Only the app publishes: clients subscribe.")
commands.topic("jobs/submit", Vec3, subscribe=False, publish=True, doc="Clients publish, the app alone listens.")
