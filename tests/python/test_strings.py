"""Strings JavaScript can hold (RELIABILITY.md case 34): a lone UTF-16 surrogate (legal in a JS
string; `JSON.stringify` writes it as the escape ``\\ud800``) becomes U+FFFD, the same for
params, results, event details, method and event names, and ids, in both directions and on
every transport — what the web platform does whenever a JS string becomes UTF-8.

Page→host messages are written raw (as `JSON.stringify` writes them), because a Python
client cannot serialize such a string itself."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pydantic import BaseModel
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from auroraview import App, Commands, InvokeException
from auroraview.testing import TestClient

R = "\ufffd"


def raw_call(method: str, params: str, id: str = "1") -> str:
    """A call frame with `params` and `method` spliced in as JSON text (escapes kept)."""
    return f'{{"type":"call","id":{id},"method":"{method}","params":{params}}}'


class Note(BaseModel):
    title: str
    tags: list[str]


def make_commands(seen: list[tuple[str, Any]]) -> Commands:
    commands = Commands()

    @commands.command("echo")
    def echo(text: str) -> str:
        seen.append(("echo", text))
        return text

    @commands.command("echo_any")
    async def echo_any(value: Any) -> Any:
        seen.append(("echo_any", value))
        return value

    @commands.command("give")
    def give(kind: str) -> Any:
        return {
            "lone_high": "a\ud800b",
            "lone_low": "a\udc00b",
            "reversed": "\udc00\ud800",
            "at_end": "ab\udbff",
            "pair": "\ud83d\ude00",  # two code points in Python, one character in JS
            "nested": {"k\ud800": ["x\udfff", 1, None]},
        }[kind]

    @commands.command("give_model")
    async def give_model() -> Note:
        return Note(title="t\ud800", tags=["\udc00", "ok"])

    @commands.command("refuse")
    def refuse() -> None:
        raise InvokeException("bad\ud800 thing", code="bad_thing")

    @commands.command("refuse_async")
    async def refuse_async() -> None:
        raise InvokeException("bad\udc00 thing", code="bad_thing")

    @commands.command("refuse_data")
    def refuse_data() -> None:
        raise InvokeException("bad", code="bad_thing", data={"why": "w\udc00"})

    @commands.on("note")
    def note(detail: Any) -> None:
        seen.append(("note", detail))

    @commands.on(f"odd{R}name")
    def odd(detail: Any) -> None:
        seen.append(("odd", detail))

    return commands


@pytest.fixture
def seen() -> list[tuple[str, Any]]:
    return []


# -- page → host ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("escaped", "expected"),
    [
        (r"a\ud800b", f"a{R}b"),  # lone high
        (r"a\udc00b", f"a{R}b"),  # lone low
        (r"\udc00\ud800", f"{R}{R}"),  # reversed pair
        (r"ab\udbff", f"ab{R}"),  # at the end of the string
        (r"\uD800\uDFFF", "\U000103ff"),  # a pair, uppercase hex: kept
        (r"\ud83d\ude00", "\U0001f600"),  # a pair: kept
        (r"\ud83d\ude00\ud83d", f"\U0001f600{R}"),
        (r"x\\ud800", "x\\ud800"),  # an escaped backslash, then text: no surrogate at all
        (r"x\\\ud800", f"x\\{R}"),
    ],
)
async def test_params_with_lone_surrogates_become_replacement_characters(
    seen: list[tuple[str, Any]], escaped: str, expected: str
) -> None:
    async with TestClient(make_commands(seen)) as client:
        reply = json.loads(await client.send_raw(raw_call("echo", f'{{"text":"{escaped}"}}')) or "null")
        assert reply["ok"], reply
        assert reply["result"] == expected
        assert seen == [("echo", expected)]
        assert client.stats()["invalid_messages"] == 0


async def test_nested_params_keys_and_positional_arrays(seen: list[tuple[str, Any]]) -> None:
    async with TestClient(make_commands(seen)) as client:
        params = r'{"value":{"k\ud800":["\udc00",{"\ud83d\ude00":"\uDBFF"}]}}'
        reply = json.loads(await client.send_raw(raw_call("echo_any", params)) or "null")
        want = {f"k{R}": [R, {"\U0001f600": R}]}
        assert reply["result"] == want
        assert seen == [("echo_any", want)]
        reply = json.loads(await client.send_raw(raw_call("echo", r'["p\ud800"]', id="2")) or "null")
        assert reply["result"] == f"p{R}"


async def test_method_names_and_string_ids(seen: list[tuple[str, Any]]) -> None:
    async with TestClient(make_commands(seen)) as client:
        # The name is replaced, then looked up: a page calling "ech\ud800" calls "ech\ufffd".
        reply = json.loads(await client.send_raw(raw_call(r"ech\ud800", '{"text":"x"}')) or "null")
        assert reply["error"]["code"] == "method_not_found"
        assert f"ech{R}" in reply["error"]["message"]
        # A string id is a string like any other.
        reply = json.loads(await client.send_raw(raw_call("echo", '{"text":"x"}', id=r'"id\udc00"')) or "null")
        assert reply["id"] == f"id{R}" and reply["result"] == "x"
        assert client.stats()["invalid_messages"] == 0 and client.stats()["dropped"] == 0


async def test_event_names_and_details_from_the_page(seen: list[tuple[str, Any]]) -> None:
    async with TestClient(make_commands(seen)) as client:
        assert await client.send_raw(r'{"type":"event","event":"note","detail":{"a\ud800":"\udc00z"}}') is None
        assert await client.send_raw(r'{"type":"event","event":"odd\uD800name","detail":"d\ud800"}') is None
        assert seen == [("note", {f"a{R}": f"{R}z"}), ("odd", f"d{R}")]
        stats = client.stats()
        assert stats["dropped"] == 0 and stats["invalid_messages"] == 0 and stats["events_received"] == 2


# -- host → page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("lone_high", f"a{R}b"),
        ("lone_low", f"a{R}b"),
        ("reversed", f"{R}{R}"),
        ("at_end", f"ab{R}"),
        ("pair", "\U0001f600"),
        ("nested", {f"k{R}": [f"x{R}", 1, None]}),
    ],
)
async def test_results_with_lone_surrogates_become_replacement_characters(
    seen: list[tuple[str, Any]], kind: str, expected: Any
) -> None:
    async with TestClient(make_commands(seen)) as client:
        assert await client.call("give", {"kind": kind}) == expected


async def test_model_results_and_echoed_escapes(seen: list[tuple[str, Any]]) -> None:
    async with TestClient(make_commands(seen)) as client:
        assert await client.call("give_model") == {"title": f"t{R}", "tags": [R, "ok"]}
        raw = await client.send_raw(raw_call("echo_any", r'{"value":"\ud800"}'))
        assert raw is not None and "\\ud800" not in raw.lower()


async def test_error_messages_from_handlers(seen: list[tuple[str, Any]]) -> None:
    async with TestClient(make_commands(seen)) as client:
        # Before: the core refused the message (UnicodeEncodeError) and the call was never answered.
        for method in ("refuse", "refuse_async"):
            reply = json.loads(await client.send_raw(raw_call(method, "{}"), timeout=2) or "null")
            assert reply["error"]["code"] == "bad_thing"
            assert reply["error"]["message"] == f"bad{R} thing"
        # Error data follows the rule of results (it was answered `internal`, "error data
        # could not be serialized", without naming the path).
        reply = json.loads(await client.send_raw(raw_call("refuse_data", "{}"), timeout=2) or "null")
        assert reply["error"] == {
            "name": "InvokeException",
            "code": "bad_thing",
            "message": "bad",
            "data": {"why": f"w{R}"},
        }


async def test_error_data_of_a_debug_traceback() -> None:
    # With debug on, the reply carries the traceback, which quotes the message: it held the
    # lone surrogate and the call was never answered.
    commands = Commands()

    @commands.command()
    def boom() -> None:
        raise ValueError("x\ud800y")

    App(commands, debug=True)
    async with TestClient(commands) as client:
        reply = json.loads(await client.send_raw(raw_call("boom", "{}"), timeout=2) or "null")
        assert reply["error"]["message"] == f"x{R}y"
        assert reply["error"]["data"]["traceback"].endswith(f"ValueError: x{R}y\n")


async def test_emitted_event_names_and_payloads(seen: list[tuple[str, Any]]) -> None:
    commands = make_commands(seen)
    commands.declare_event("declared", Note)
    async with TestClient(commands) as client:
        assert commands.app.emit("plain", {"s\ud800": "\udc00"}) == 1
        assert commands.app.emit("declared", Note(title="\ud800", tags=[])) == 1
        assert commands.app.emit("name\ud800", "p\ud83d\ude00") == 1
        events = [(e.name, e.payload) for e in client.events]
        assert events == [
            ("plain", {f"s{R}": R}),
            ("declared", {"title": R, "tags": []}),
            (f"name{R}", "p\U0001f600"),
        ]


def test_registering_a_name_with_a_lone_surrogate_is_refused() -> None:
    commands = Commands()
    with pytest.raises(ValueError, match="holds a lone surrogate"):
        commands.on("ev\ud800", lambda: None)
    with pytest.raises(ValueError, match="holds a lone surrogate"):
        commands.command("cmd\udc00")(lambda: None)
    with pytest.raises(ValueError, match="holds a lone surrogate"):
        commands.declare_event("\udc00", int)
    # A pair written as two code points is still one character: refused the same way, since
    # the name registered would not be the one the page sends.
    with pytest.raises(ValueError, match="holds a lone surrogate"):
        commands.on("\ud83d\ude00", lambda: None)
    # Emitting is not registering: the name and payload are replaced, as on the wire.
    assert commands.serialize_event("n\ud800", "\udc00") == f'"{R}"'.encode()


# -- the network transport -----------------------------------------------------------


def test_network_transport_behaves_the_same(seen: list[tuple[str, Any]]) -> None:
    app = App(make_commands(seen))
    srv = app.serve(heartbeat=30, expose="all")
    try:
        protocols = [Subprotocol("auroraview"), Subprotocol(f"auroraview.token.{srv.token}")]
        with connect(srv.ws_url, open_timeout=5, subprotocols=protocols) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
            ws.send(raw_call("echo", r'{"text":"a\ud800b"}'))
            ws.send(raw_call("give", '{"kind":"reversed"}', id="2"))
            replies: dict[int, dict[str, Any]] = {}
            while len(replies) < 2:
                frame = json.loads(ws.recv(timeout=5))
                replies[frame["id"]] = frame
            assert replies[1]["result"] == f"a{R}b"
            assert replies[2]["result"] == f"{R}{R}"
            ws.send(r'{"type":"event","event":"odd\ud800name","detail":"\udc00"}')
            assert app.emit("n\ud800", "\udfff") == 1
            assert json.loads(ws.recv(timeout=5)) == {"type": "event", "event": f"n{R}", "payload": R}
            deadline = time.monotonic() + 5
            while ("odd", R) not in seen:
                assert time.monotonic() < deadline, seen
                time.sleep(0.01)
        assert app.stats()["invalid_messages"] == 0
    finally:
        srv.close()
        app.close()
