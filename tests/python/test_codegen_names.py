"""TypeScript names of generated types: one name per schema (no silent merges), names that
do not change when unrelated commands are added, open string enums, field docs, and
registration errors for types that cannot be described."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import IO, Any, ClassVar, Literal, Union

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from auroraview import Commands, _core
from auroraview.contract import CONTRACT_VERSION, build_contract

DECL = re.compile(r"^export (?:interface|type) (\w+)", re.M)


def generate(commands: Commands) -> str:
    return _core.generate_typescript(json.dumps(build_contract(commands)), "test:commands")


def declared(ts: str) -> list[str]:
    return DECL.findall(ts)


def declarations(ts: str) -> dict[str, str]:
    """Every `export interface|type` block by name (the text up to the blank line after it)."""
    blocks: dict[str, str] = {}
    for block in ts.split("\n\n"):
        body = "\n".join(line for line in block.splitlines() if not line.startswith(("/**", " *", "//")))
        m = DECL.match(body)
        if m and m.group(1) not in ("CommandMap", "MockHandlers", "DeclaredError"):
            blocks[m.group(1)] = body
    return blocks


# -- models of the kinds real apps have ------------------------------------------------


class Audio(BaseModel):
    """A clip."""

    url: str
    volume: float = 1.0  # a default: the input and output shapes differ


class AudioOutput(BaseModel):
    """A device (its class name happens to end in Output)."""

    device: str


def _module_model(module: str) -> type[BaseModel]:
    class Message(BaseModel):
        text: str

    Message.__module__ = module
    Message.__qualname__ = "Message"
    return Message


ChatMessage = _module_model("chat.models")
BillingMessage = _module_model("billing.models")


class Point(BaseModel):
    x: int
    y: int


class Explicit(BaseModel):
    __ts_name__: ClassVar[str] = "RenamedInTs"
    value: int


class Other(BaseModel):
    __ts_name__: ClassVar[str] = "Point"
    z: int


class RenameParams(BaseModel):
    x: int


class Doc(BaseModel):
    plain: int
    """The attribute's docstring."""
    described: str = Field(description="From Field(description=...).")


class DocDict(TypedDict):
    key: str
    """A TypedDict key's docstring."""


class Upload(TypedDict):
    name: str
    stream: IO[bytes]


class BadName(BaseModel):
    __ts_name__: ClassVar[str] = "not-an-identifier"
    x: int


class Child(Explicit):
    """Inherits `Explicit`, not its explicit name."""

    extra: int


class Named(TypedDict):
    a: int


Named.__ts_name__ = "NamedDict"  # type: ignore[attr-defined]


def test_explicit_names_must_be_identifiers_are_not_inherited_and_work_on_typeddicts() -> None:
    commands = Commands()

    @commands.command()
    async def bad(b: BadName) -> None:
        return None

    with pytest.raises(ValueError, match=r"BadName.__ts_name__ must be a TypeScript identifier"):
        generate(commands)

    commands = Commands()

    @commands.command()
    async def kinds(e: Explicit, c: Child, n: Named) -> None:
        return None

    names = declared(generate(commands))
    assert {"RenamedInTs", "Child", "NamedDict"} <= set(names)


def test_two_schemas_never_share_a_name() -> None:
    # Today: `Audio` in both modes becomes `Audio-Input`/`Audio-Output`, and `AudioOutput`
    # normalises to the same identifier: TypeScript would merge the two interfaces.
    commands = Commands()

    @commands.command()
    async def play(clip: Audio) -> Audio:
        return clip

    @commands.command()
    async def device() -> AudioOutput:
        return AudioOutput(device="x")

    names = declared(generate(commands))
    assert [n for n, count in Counter(names).items() if count > 1] == []
    assert {"Audio", "AudioInput", "AudioOutput"} <= set(names)


def test_same_class_name_from_two_modules_is_disambiguated_readably() -> None:
    commands = Commands()

    @commands.command()
    async def chat() -> ChatMessage:  # type: ignore[valid-type]
        return ChatMessage(text="a")

    @commands.command()
    async def bill() -> BillingMessage:  # type: ignore[valid-type]
        return BillingMessage(text="b")

    ts = generate(commands)
    assert "export type ChatResult = Message;" in ts
    assert "export type BillResult = BillingMessage;" in ts
    assert "`billing.models.Message`" in ts  # the JSDoc says which Python type it is


def test_names_never_change_as_commands_are_added() -> None:
    commands = Commands()
    steps: list[Any] = []

    async def get_audio() -> Audio:
        return Audio(url="u")

    async def set_audio(a: Audio) -> None:
        return None

    async def chat() -> ChatMessage:  # type: ignore[valid-type]
        return ChatMessage(text="a")

    async def bill() -> BillingMessage:  # type: ignore[valid-type]
        return BillingMessage(text="b")

    async def move(p: Point) -> Point:
        return p

    async def get_point() -> Point:
        return Point(x=1, y=2)

    async def device(o: AudioOutput) -> list[Audio]:
        return []

    async def explicit(e: Explicit) -> Explicit:
        return e

    steps = [get_audio, set_audio, chat, bill, move, get_point, device, explicit]
    seen: dict[str, str] = {}
    for fn in steps:
        commands.add(fn, fn.__name__)
        now = declarations(generate(commands))
        for name, text in seen.items():
            assert now.get(name) == text, f"after adding {fn.__name__!r}, {name} changed or vanished"
        seen.update(now)
    assert {"Audio", "AudioInput", "AudioOutput", "Message", "BillingMessage", "Point", "RenamedInTs"} <= set(seen)
    assert "PointInput" not in seen  # same shape on both sides: one name


def test_an_explicit_name_that_collides_fails_naming_both_types() -> None:
    commands = Commands()

    @commands.command()
    async def a(p: Point) -> Other:
        return Other(z=p.x)

    with pytest.raises(ValueError, match=r"Point.*Other|Other.*Point"):
        generate(commands)


def test_a_model_named_like_a_params_type_fails_naming_both() -> None:
    commands = Commands()

    @commands.command()
    async def rename(p: RenameParams) -> None:
        return None

    with pytest.raises(ValueError, match=r"RenameParams.*rename|rename.*RenameParams"):
        generate(commands)


@pytest.mark.parametrize("name", ["Promise", "Record", "CommandMap", "InvokeErrorOf", "DeclaredError"])
def test_a_model_named_like_a_name_the_file_uses_gets_a_suffix(name: str) -> None:
    # Today: `export interface Promise` shadows the global the wrappers' types use.
    model = type(name, (BaseModel,), {"__annotations__": {"x": int}, "__module__": "app.models"})
    commands = Commands()

    async def get() -> Any:
        return None

    get.__annotations__["return"] = model
    commands.add(get, "get")
    ts = generate(commands)
    names = declared(ts)
    assert f"export type GetResult = {name}_;" in ts
    assert [n for n, count in Counter(names).items() if count > 1] == []


def test_open_string_enums_keep_their_known_values() -> None:
    commands = Commands()

    @commands.command()
    async def pick(model: Union[str, Literal["small", "large"]]) -> str:
        return model

    ts = generate(commands)
    assert 'model: "small" | "large" | (string & {});' in ts


def test_attribute_docstrings_and_descriptions_become_jsdoc() -> None:
    commands = Commands()

    @commands.command()
    async def doc(d: Doc, t: DocDict) -> Doc:
        return d

    ts = generate(commands)
    assert "/**\n   * The attribute's docstring." in ts or "/** The attribute's docstring." in ts
    assert "From Field(description=...)." in ts
    assert "A TypedDict key's docstring." in ts


def test_untypable_parameter_fails_at_registration_naming_the_field_path() -> None:
    commands = Commands()
    with pytest.raises(TypeError) as info:

        @commands.command()
        async def upload(files: list[Upload]) -> None:
            return None

    msg = str(info.value)
    assert "upload" in msg and "'files'" in msg and "files[].stream" in msg
    assert "IO[bytes]" in msg and "model_config" not in msg


def test_contract_version_is_the_one_the_generator_reads() -> None:
    contract = build_contract(Commands())
    _core.generate_typescript(json.dumps(contract), "x")
    contract["contract_version"] = CONTRACT_VERSION + 1
    with pytest.raises(ValueError, match=f"expected {CONTRACT_VERSION}"):
        _core.generate_typescript(json.dumps(contract), "x")


def test_a_malformed_contract_is_a_clear_error() -> None:
    contract = build_contract(Commands())
    contract["commands"] = [{"name": 3}]
    with pytest.raises(ValueError, match="contract"):
        _core.generate_typescript(json.dumps(contract), "x")


def test_corpus_names_are_stable_command_by_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-register the whole corpus one command at a time: no declaration ever changes."""
    from pathlib import Path

    corpus_dir = Path(__file__).parents[1] / "codegen"
    monkeypatch.syspath_prepend(str(corpus_dir))
    import corpus  # type: ignore[import-not-found]

    fresh = Commands()
    seen: dict[str, str] = {}
    for cmd in corpus.commands:
        fresh.add(cmd.fn, cmd.name, timeout=cmd.timeout, errors=cmd.errors)
        now = declarations(generate(fresh))
        for name, text in seen.items():
            assert now.get(name) == text, f"after adding {cmd.name!r}, {name} changed or vanished"
        seen.update(now)
    assert len(seen) > 60


def test_the_cli_reports_a_name_clash_in_one_line(tmp_path: Any) -> None:
    import subprocess
    import sys
    import textwrap

    (tmp_path / "clash.py").write_text(
        textwrap.dedent(
            """
            from pydantic import BaseModel
            from auroraview import Commands

            class GetSceneResult(BaseModel):
                x: int

            commands = Commands()

            @commands.command()
            async def get_scene() -> GetSceneResult:
                return GetSceneResult(x=1)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "auroraview", "codegen", "clash:commands", "--out", "x.ts"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "`clash.GetSceneResult`" in proc.stderr and "command `get_scene` (`clash.get_scene`)" in proc.stderr
    assert "__ts_name__" in proc.stderr and not (tmp_path / "x.ts").exists()
