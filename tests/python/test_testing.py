"""The TestClient itself and the opt-in pytest fixture."""

from __future__ import annotations

import asyncio

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

