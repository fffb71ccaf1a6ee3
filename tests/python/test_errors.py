"""Errors on the wire: RELIABILITY.md cases 5 (unknown method), 6 (invalid params, golden
file) and 7 (handler raises / returns something unserializable), plus the closed code list."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from counting import Calls
from pydantic import BaseModel, ConfigDict

import auroraview
from auroraview import Commands, InvokeError, InvokeException, _core
from auroraview.testing import TestClient

GOLDEN = Path(__file__).parent / "golden" / "invalid_params.json"


def test_error_code_lists_agree() -> None:
    assert auroraview.ERROR_CODES == tuple(_core.ERROR_CODES)
    schema = json.loads((Path(__file__).parents[2] / "schema" / "protocol.schema.gen.json").read_text())
    assert tuple(c["const"] for c in schema["$defs"]["ErrorCode"]["oneOf"]) == auroraview.ERROR_CODES
    ts = (Path(__file__).parents[2] / "sdk-ts" / "src" / "protocol.gen.ts").read_text()
    [line] = [line for line in ts.splitlines() if line.startswith("export type ErrorCode =")]
    assert tuple(part.strip().strip('";') for part in line.split("=", 1)[1].split("|")) == auroraview.ERROR_CODES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


class NotFound(InvokeException):
    """A handler-declared error."""


def build(calls: Calls) -> Commands:
    commands = Commands()

    @commands.command()
    async def create(item: Strict, ratio: float = 1.0, tag: str = "") -> bool:
        calls.hit("create")
        return True

    @commands.command()
    async def fails_invoke(which: str) -> None:
        calls.hit("fails_invoke")
        if which == "base":
            raise InvokeException("empty name", code="empty_name", data={"field": "old_name"})
        if which == "subclass":
            raise NotFound("no such object", data=Strict(name="cube", count=1))
        if which == "named":
            raise InvokeException("custom", name="RenameError")
        raise InvokeException("bad data", data=object())

    @commands.command()
    def fails_other(kind: str) -> None:
        calls.hit("fails_other")
        if kind == "path":
            open("/definitely/not/here/secret.txt")
        raise ValueError(f"broken at {os.getcwd()}/module.py line 3")

    @commands.command()
    async def fails_async(kind: str) -> None:
        raise KeyError(kind)

    @commands.command()
    def unserializable() -> Any:
        return object()

    @commands.command()
    async def wrong_type() -> int:
        return "not an int"  # type: ignore[return-value]

    return commands


@pytest.fixture
def commands(calls: Calls) -> Commands:
    return build(calls)


@pytest.mark.parametrize("method", ["__class__", "a.b", "../x", "create.__globals__", "", "x" * 5000, "api.", "CREATE"])
async def test_unknown_methods_never_reach_a_handler(commands: Commands, calls: Calls, method: str) -> None:
    async with TestClient(commands) as client:
        reply = json.loads(
            await client.send_raw(json.dumps({"type": "call", "id": 1, "method": method})) or "null"
        )
    assert calls.total == 0
    assert reply["ok"] is False
    code = reply["error"]["code"]
    if method == "" or len(method) > 256:
        assert code == "invalid_message"
    else:
        assert code == "method_not_found"
        assert len(reply["error"]["message"]) < 120  # the name is echoed truncated


async def test_invalid_params_match_the_golden_file(commands: Commands, calls: Calls) -> None:
    cases = {
        "wrong_type": {"item": {"name": "a", "count": "many"}},
        "missing": {"item": {"name": "a"}},
        "missing_argument": {},
        "extra_field_forbidden": {"item": {"name": "a", "count": 1, "colour": "red"}},
        "unexpected_argument": {"item": {"name": "a", "count": 1}, "bogus": 1},
        "int_beyond_2_53": {"item": {"name": "a", "count": 9007199254740993}},
        "nan_string": {"item": {"name": "a", "count": 1}, "ratio": "NaN"},
        "infinity_string": {"item": {"name": "a", "count": 1}, "ratio": "-inf"},
        "params_not_object_or_array": 5,
        "too_many_positional": [{"name": "a", "count": 1}, 1.0, "t", "extra"],
    }
    got: dict[str, Any] = {}
    async with TestClient(commands) as client:
        for name, params in cases.items():
            with pytest.raises(InvokeError) as info:
                await client.call("create", params)
            e = info.value
            assert e.name == "ValidationError" and e.code == "invalid_params"
            for err in e.data["errors"]:
                assert {"loc", "msg", "type"} <= err.keys()
            got[name] = {"message": e.message, "errors": e.data["errors"]}
    assert calls.total == 0
    if os.environ.get("AURORAVIEW_BLESS"):
        GOLDEN.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert got == json.loads(GOLDEN.read_text()), "regenerate with AURORAVIEW_BLESS=1 if the change is intended"


async def test_invoke_exception_is_structured(commands: Commands) -> None:
    async with TestClient(commands) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("fails_invoke", {"which": "base"})
        assert (info.value.name, info.value.code, info.value.message, info.value.data) == (
            "InvokeException",
            "empty_name",
            "empty name",
            {"field": "old_name"},
        )
        with pytest.raises(InvokeError) as info:
            await client.call("fails_invoke", {"which": "subclass"})
        assert (info.value.name, info.value.code, info.value.data) == ("NotFound", "handler_error", {"name": "cube", "count": 1})
        with pytest.raises(InvokeError) as info:
            await client.call("fails_invoke", {"which": "named"})
        assert info.value.name == "RenameError"
        with pytest.raises(InvokeError) as info:
            await client.call("fails_invoke", {"which": "unserializable"})
        assert info.value.code == "internal"


async def test_what_callers_receive_is_the_callers_side_of_what_handlers_raise(commands: Commands) -> None:
    # One hierarchy: InvokeError (received) is an InvokeException (raised) and an AuroraViewError.
    assert issubclass(InvokeError, InvokeException) and issubclass(InvokeError, auroraview.AuroraViewError)
    async with TestClient(commands) as client:
        with pytest.raises(InvokeException) as info:  # what a test written from the handler's side catches
            await client.call("fails_invoke", {"which": "subclass"})
        error = info.value
        assert isinstance(error, InvokeError) and error.matches(NotFound)
        assert not error.matches(InvokeException)
        with pytest.raises(InvokeError) as framework:
            await client.call("missing")
        assert not framework.value.matches(NotFound)


async def test_an_invoke_error_a_handler_lets_through_is_internal_not_passed_on(caplog: pytest.LogCaptureFixture) -> None:
    # A call the handler made failed (method_not_found there): its caller must not be told
    # that *its* command does not exist.
    commands = Commands()

    @commands.command()
    async def relay() -> None:
        raise InvokeError("MethodNotFound", "method_not_found", 'no command named "elsewhere"')

    async with TestClient(commands) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("relay")
    assert (info.value.name, info.value.code) == ("InvokeError", "internal")
    assert "relay" in caplog.text


def test_errors_declares_what_handlers_raise_not_what_callers_receive() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match="InvokeError is what a caller receives"):

        @commands.command(errors=[InvokeError])
        def f() -> None: ...


def test_invoke_exception_code_must_be_sane() -> None:
    with pytest.raises(ValueError):
        InvokeException("x", code="")


async def test_other_exceptions_are_internal_without_traceback_or_paths(commands: Commands, caplog: pytest.LogCaptureFixture) -> None:
    async with TestClient(commands) as client:
        for method, params, name in [
            ("fails_other", {"kind": "value"}, "ValueError"),
            ("fails_other", {"kind": "path"}, "FileNotFoundError"),
            ("fails_async", {"kind": "k"}, "KeyError"),
        ]:
            raw = await client.send_raw(json.dumps({"type": "call", "id": "r", "method": method, "params": params}))
            assert raw is not None
            reply = json.loads(raw)["error"]
            assert (reply["name"], reply["code"], reply["data"]) == (name, "internal", None)
            assert "Traceback" not in raw and os.getcwd() not in raw and "/definitely/not" not in raw, raw
    assert "fails_other" in caplog.text  # the host still logs the full error


async def test_debug_puts_the_traceback_in_data(commands: Commands) -> None:
    async with TestClient(commands, debug=True) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("fails_other", {"kind": "value"})
    assert "Traceback" in info.value.data["traceback"]
    assert os.getcwd() in info.value.message


async def test_unserializable_or_mistyped_results_settle_fast(commands: Commands) -> None:
    async with TestClient(commands) as client:
        for method in ("unserializable", "wrong_type"):
            started = time.perf_counter()
            with pytest.raises(InvokeError) as info:
                await asyncio.wait_for(client.call(method), 1.0)
            assert time.perf_counter() - started < 0.1
            assert info.value.code == "internal"
            assert info.value.name == "PydanticSerializationError"
        assert client.stats()["late_results"] == 0


class Asset(BaseModel):
    name: str
    ids: list[int]


async def test_results_and_events_with_integers_javascript_cannot_hold_are_refused() -> None:
    """The page would otherwise get a different number without notice (2**53 + 1 arrives
    as 2**53): such a result is answered `internal` with the path, and `emit` raises."""
    commands = Commands()

    @commands.command()
    async def edge() -> int:
        return 2**53 - 1

    @commands.command()
    async def too_big() -> int:
        return 2**53 + 1

    @commands.command()
    def nested() -> list[Asset]:
        return [Asset(name="a", ids=[1]), Asset(name="b", ids=[2, -(2**60)])]

    @commands.command()
    async def as_text() -> dict[str, Any]:
        return {"id": str(2**60), "ratio": 12345678901234567890.5}

    async with TestClient(commands) as client:
        assert await client.call("edge") == 2**53 - 1
        assert await client.call("as_text") == {"id": str(2**60), "ratio": 12345678901234567890.5}
        with pytest.raises(InvokeError) as info:
            await client.call("too_big")
        assert info.value.code == "internal"
        assert f"integer {2**53 + 1} at result," in info.value.message
        with pytest.raises(InvokeError) as info:
            await client.call("nested")
        assert f"integer {-(2**60)} at result.1.ids.1," in info.value.message
        assert client.stats()["unsafe_results"] == 2

        with pytest.raises(ValueError, match=r"payload holds the integer 9007199254740993 at payload\.big"):
            commands.emit("tick", {"big": 2**53 + 1})
        commands.emit("tick", {"big": str(2**53 + 1)})
        await asyncio.sleep(0.05)
        assert [e.payload for e in client.events] == [{"big": str(2**53 + 1)}]
