"""The TestClient itself and the opt-in pytest fixture, plus the `_core` stub staying true."""

from __future__ import annotations

import ast
import asyncio
import inspect
from pathlib import Path

import pytest

import auroraview
from auroraview import Commands, InvokeError, _core
from auroraview.testing import TestClient

pytest_plugins = ["auroraview.pytest_plugin"]

app = Commands()


@app.command()
async def hello(name: str) -> str:
    """Greet someone."""
    return f"hello {name}"


@pytest.fixture
def auroraview_app() -> Commands:
    return app


async def test_fixture_gives_an_open_client(auroraview_client: TestClient) -> None:
    assert await auroraview_client.call("hello", {"name": "Ada"}) == "hello Ada"


async def test_call_raises_invoke_error_with_all_fields(auroraview_client: TestClient) -> None:
    with pytest.raises(InvokeError) as info:
        await auroraview_client.call("missing")
    e = info.value
    assert (e.name, e.code, e.data) == ("MethodNotFound", "method_not_found", None)
    assert "missing" in e.message and str(e).startswith("MethodNotFound [method_not_found]")


async def test_send_raw_returns_replies_or_none(auroraview_client: TestClient) -> None:
    ok = await auroraview_client.send_raw('{"type":"call","id":"r1","method":"hello","params":["Bo"]}')
    assert ok == '{"type":"call_result","id":"r1","ok":true,"result":"hello Bo"}'
    assert await auroraview_client.send_raw('{"type":"event","event":"x"}') is None
    assert await auroraview_client.send_raw('{"type":"cancel","id":"none"}') is None
    assert await auroraview_client.send_raw("]") is None
    assert auroraview_client.stats()["dropped"] == 1


def test_rejects_what_is_not_an_app() -> None:
    with pytest.raises(TypeError, match="Commands registry or a WebView"):
        TestClient(object())  # type: ignore[arg-type]


async def test_a_closed_client_refuses_calls() -> None:
    client = TestClient(app)
    with pytest.raises(RuntimeError, match="not open"):
        await client.call("hello", {"name": "x"})
    async with client:
        pass
    await client.aclose()  # idempotent


async def test_two_clients_on_one_registry_are_independent() -> None:
    async with TestClient(app) as a, TestClient(app) as b:
        assert await asyncio.gather(a.call("hello", ["a"]), b.call("hello", ["b"])) == ["hello a", "hello b"]
        app.emit("both", 1)
        assert [e.payload for e in a.events] == [1] and [e.payload for e in b.events] == [1]


def test_public_api_is_explicit() -> None:
    for name in auroraview.__all__:
        assert hasattr(auroraview, name), name
    assert auroraview.PROTOCOL_VERSION == _core.PROTOCOL_VERSION == 1


def test_core_stub_matches_the_binary() -> None:
    stub = ast.parse((Path(auroraview.__file__).parent / "_core.pyi").read_text())
    declared: dict[str, set[str]] = {}
    for node in stub.body:
        if isinstance(node, ast.FunctionDef):
            declared[node.name] = set()
        elif isinstance(node, ast.ClassDef):
            declared[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef) and n.name != "__init__"}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared[node.target.id] = set()
    runtime_names = {n for n in dir(_core) if not n.startswith("_") or n == "__version__"}
    assert {n for n in declared if n not in ("Op", "Receipt")} == runtime_names - {"Op", "Receipt"}
    for cls_name in ("Core", "Connection", "Window"):
        cls = getattr(_core, cls_name)
        public = {n for n, _ in inspect.getmembers(cls) if not n.startswith("_")}
        assert declared[cls_name] == public, cls_name
