"""Binary data (docs/binary.md) on the Python side: which commands are binary and what is
refused at declaration, `bytes` both ways through `TestClient` (the real Rust router, binary
frames), placeholders that name no attachment, the answer to a binary command called on a
route that cannot carry bytes, and the memory a 100 MiB echo takes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, cast

import pytest
from binary_app import NOT_UTF8, Bundle, MiB, Page, make_commands, payload, sha256
from counting import Calls
from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic_core import from_json, to_json
from typing_extensions import TypedDict

from auroraview import App, Channel, Commands, InvokeError, _core
from auroraview._binary import AttachmentError, cut, has_bytes, put_back, to_plain
from auroraview._runtime import Runtime
from auroraview.commands import Command
from auroraview.contract import build_contract
from auroraview.testing import TestClient

HERE = Path(__file__).parent
SIZES = [0, 1, MiB, 100 * MiB]
SIZE_IDS = ["0B", "1B", "1MiB", "100MiB"]


@pytest.fixture
async def client() -> AsyncIterator[TestClient]:
    async with TestClient(make_commands()) as c:
        yield c


def declared(fn: Any) -> Command:
    commands = Commands()
    commands.add(fn, "cmd")
    cmd = commands.get("cmd")
    assert cmd is not None
    return cmd


# -- which commands are binary ---------------------------------------------------------------


class Node(BaseModel):
    name: str
    icon: bytes | None = None
    children: list[Node] = []


class Meta(TypedDict):
    name: str
    raw: bytes


@dataclasses.dataclass
class Attachment:
    name: str
    data: bytes


class Text(BaseModel):
    body: str


class Base64(BaseModel):
    """`bytes` its owner chose to send as base64 text: JSON, not binary."""

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")
    data: bytes


def p_bytes(data: bytes) -> None: ...
def r_bytes() -> bytes: ...
def p_model(page: Page) -> None: ...
def r_model() -> Bundle: ...
def p_list(chunks: list[bytes]) -> int: ...
def p_optional(data: Optional[bytes] = None) -> None: ...
def p_union(data: bytes | str) -> None: ...
def p_dict(files: dict[str, bytes]) -> None: ...
def r_nested() -> dict[str, list[Page]]: ...
def p_recursive(tree: Node) -> None: ...
def p_typed_dict(meta: Meta) -> None: ...
def r_dataclass() -> Attachment: ...
def p_positional(data: bytes, /) -> None: ...
def p_tuple(pair: tuple[str, bytes]) -> None: ...
def plain(name: str, n: int = 1) -> dict[str, Any]: ...
def anything(value: Any) -> Any: ...
def text_model(t: Text) -> Text: ...
def r_hex() -> Annotated[bytes, PlainSerializer(lambda b: b.hex(), return_type=str)]: ...
def base64_model(b: Base64) -> Base64: ...


@pytest.mark.parametrize(
    "fn",
    [p_bytes, r_bytes, p_model, r_model, p_list, p_optional, p_union, p_dict, r_nested, p_recursive, p_typed_dict,
     r_dataclass, p_positional, p_tuple],
    ids=lambda f: f.__name__,
)
def test_bytes_anywhere_in_params_or_result_makes_a_binary_command(fn: Any) -> None:
    assert declared(fn).binary is True


@pytest.mark.parametrize("fn", [plain, anything, text_model, r_hex, base64_model], ids=lambda f: f.__name__)
def test_other_commands_are_not_binary(fn: Any) -> None:
    # `r_hex`, `base64_model`: their `bytes` are strings in JSON (the contract says so too).
    assert declared(fn).binary is False


def test_the_contract_says_which_commands_are_binary() -> None:
    doc = build_contract(make_commands())
    binary = {c["name"]: c["binary"] for c in doc["commands"]}
    assert binary == {
        "add": False,
        "checksum": True,
        "checksum_sync": True,
        "digest_bundle": True,
        "echo": True,
        "echo_bundle": True,
        "echo_sync": True,
        "make_blob": True,
    }
    [echo] = [c for c in doc["commands"] if c["name"] == "echo"]
    assert echo["result"] == {"type": "string", "format": "binary"}


# -- refused at declaration ------------------------------------------------------------------


def test_a_stream_of_bytes_is_refused() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b""

    with pytest.raises(TypeError, match=r"frames.*its items hold `bytes`.*a stream command cannot be a binary command.*docs/binary.md"):
        declared(frames)


def test_a_stream_taking_bytes_is_refused() -> None:
    def lines(data: bytes) -> Iterator[str]:
        yield from data.decode().splitlines()

    with pytest.raises(TypeError, match=r"lines.*its params hold `bytes`.*a stream command"):
        declared(lines)


def test_a_stream_of_models_holding_bytes_is_refused() -> None:
    async def pages() -> AsyncIterator[list[Page]]:
        yield []

    with pytest.raises(TypeError, match="its items hold `bytes`"):
        declared(pages)


def test_a_channel_of_bytes_is_refused() -> None:
    async def export(out: Channel[bytes]) -> None: ...

    with pytest.raises(TypeError, match=r"export.*its items hold `bytes`.*a command with a Channel parameter \('out'\)"):
        declared(export)


def test_a_command_with_a_channel_taking_or_returning_bytes_is_refused() -> None:
    async def upload(data: bytes, progress: Channel[int]) -> int: ...
    async def download(progress: Channel[int]) -> bytes: ...

    with pytest.raises(TypeError, match=r"upload.*its params hold `bytes`.*Channel"):
        declared(upload)
    with pytest.raises(TypeError, match=r"download.*its result holds? `bytes`.*Channel"):
        declared(download)


@pytest.mark.parametrize("direction", ["to_page", "to_host"])
def test_an_event_payload_holding_bytes_is_refused(direction: Literal["to_page", "to_host"]) -> None:
    commands = Commands()
    with pytest.raises(TypeError, match=r"event 'preview'.*holds `bytes`, and events travel as JSON.*docs/binary.md"):
        commands.declare_event("preview", Page, direction=direction)
    with pytest.raises(TypeError, match="holds `bytes`"):
        commands.declare_event("raw", bytes, direction=direction)
    assert commands.events() == []
    commands.declare_event("text", Text, direction=direction)  # no bytes: fine


def test_an_event_handler_taking_bytes_is_refused() -> None:
    commands = Commands()

    def on_drop(detail: list[bytes]) -> None: ...

    with pytest.raises(TypeError, match=r"on_drop.*event 'drop' holds `bytes`"):
        commands.on("drop", on_drop)
    assert commands.handlers("drop") == [] and commands.events() == []


# -- both ways through the test client -------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
async def test_bytes_arrive_intact_both_ways(client: TestClient, size: int) -> None:
    data = payload(size, seed=size)
    assert data[:2] == NOT_UTF8[:2][:size]
    digest = sha256(data)
    # The params way: the handler hashes what it got.
    assert await client.call("checksum", {"data": data}, timeout=60) == digest
    assert await client.call("checksum_sync", [data], timeout=60) == digest
    # Both ways: what comes back is what went.
    back = await client.call("echo", {"data": data}, timeout=60)
    assert type(back) is bytes and len(back) == size and sha256(back) == digest
    del back
    back = await client.call("echo_sync", {"data": data}, timeout=60)
    assert type(back) is bytes and sha256(back) == digest
    del back, data
    # The result way: bytes made by the handler, with their hash.
    blob = await client.call("make_blob", {"size": size, "seed": 7}, timeout=60)
    assert set(blob) == {"data", "sha256"} and type(blob["data"]) is bytes
    assert len(blob["data"]) == size and sha256(blob["data"]) == blob["sha256"] == sha256(payload(size, 7))


def bundle() -> Bundle:
    return Bundle(
        name="book",
        cover=payload(3000, 1),
        pages=[
            Page(title="one", image=payload(70_000, 2), thumbnail=payload(10, 3)),
            Page(title="two", image=b"", thumbnail=None),
            Page(title="three", image=NOT_UTF8),
        ],
        chunks=[payload(1, 4), b"", payload(65_537, 5), NOT_UTF8],
        extra={"a": b"\x00\x00", "\u00e9t\u00e9": payload(5, 6)},
    )


async def test_a_model_with_nested_bytes_travels_both_ways(client: TestClient) -> None:
    b = bundle()
    # A model in the params (serialized as pydantic's python mode), a dict back.
    back = await client.call("echo_bundle", {"bundle": b}, timeout=10)
    assert back == b.model_dump()
    assert Bundle.model_validate(back) == b
    # Every `bytes` arrived where it belongs.
    digests = await client.call("digest_bundle", {"bundle": b.model_dump()}, timeout=10)
    assert digests == {
        "cover": sha256(b.cover),
        "pages.0.image": sha256(b.pages[0].image),
        "pages.0.thumbnail": sha256(b.pages[0].thumbnail or b"?"),
        "pages.1.image": sha256(b""),
        "pages.2.image": sha256(NOT_UTF8),
        **{f"chunks.{i}": sha256(c) for i, c in enumerate(b.chunks)},
        "extra.a": sha256(b"\x00\x00"),
        "extra.\u00e9t\u00e9": sha256(payload(5, 6)),
    }


async def test_the_same_bytes_twice_and_bytes_like_params(client: TestClient) -> None:
    data = payload(100, 9)
    b = {"name": "n", "cover": data, "pages": [], "chunks": [data, bytearray(data), memoryview(data)]}
    back = await client.call("echo_bundle", {"bundle": b}, timeout=10)
    assert back["chunks"] == [data, data, data] and back["cover"] == data


async def test_a_non_binary_command_is_untouched(client: TestClient) -> None:
    assert await client.call("add", {"a": 1, "b": 2}, timeout=5) == 3
    # Its reply is JSON text, as before (no frame).
    reply = await client.send_raw('{"type":"call","id":"x","method":"add","params":{"a":1,"b":2}}')
    assert reply is not None and json.loads(reply) == {"type": "call_result", "id": "x", "ok": True, "result": 3}


async def test_a_binary_command_called_with_json_text_on_a_route_that_carries_bytes(client: TestClient) -> None:
    # An in-process connection carries binary replies: a JSON text call of `make_blob` (no
    # bytes in its params) is answered with a frame, here its JSON part.
    reply = await client.send_raw('{"type":"call","id":"t","method":"make_blob","params":{"size":3}}')
    assert reply is not None
    assert json.loads(reply) == {"type": "call_result", "id": "t", "ok": True, "result": {"data": {"$bin": 0}, "sha256": sha256(payload(3))}}


# -- placeholders that name no attachment ----------------------------------------------------


def counted_commands(calls: Calls) -> Commands:
    commands = Commands()

    @commands.command()
    async def store(data: bytes) -> int:
        calls.hit("store")
        return len(data)

    @commands.command()
    def store_bundle(bundle: Bundle) -> int:
        calls.hit("store_bundle")
        return len(bundle.chunks)

    return commands


def frame(method: str, params: Any, blobs: list[bytes], call_id: str = "c") -> bytes:
    return _core.encode_frame(to_json({"type": "call", "id": call_id, "method": method, "params": params}), blobs)


@pytest.mark.parametrize(
    ("placeholder", "blobs", "have"),
    [
        (1, [b"x"], "1 attachment"),
        (5, [], "0 attachments"),
        (-1, [b"x"], "1 attachment"),
        ("0", [b"x"], "1 attachment"),
        (True, [b"x", b"y"], "2 attachments"),
        (0.0, [b"x"], "1 attachment"),
        (None, [b"x"], "1 attachment"),
        ({"$bin": 0}, [b"x"], "1 attachment"),
    ],
)
async def test_a_placeholder_that_names_no_attachment_is_invalid_params(
    calls: Calls, placeholder: Any, blobs: list[bytes], have: str
) -> None:
    async with TestClient(counted_commands(calls)) as client:
        reply = await client.send_raw(frame("store", {"data": {"$bin": placeholder}}, blobs))
        assert reply is not None
        msg = json.loads(reply)
        assert msg["ok"] is False
        err = msg["error"]
        assert (err["name"], err["code"]) == ("ValidationError", "invalid_params")
        assert err["message"].startswith("invalid params for 'store': data: the attachment placeholder {\"$bin\": ")
        assert err["message"].endswith(f"names no attachment (the message has {have})")
        [detail] = err["data"]["errors"]
        assert detail["type"] == "invalid_attachment" and detail["loc"] == ["data"]
        # The client and the app are fine: a good call goes through.
        assert await client.call("store", {"data": b"abc"}, timeout=5) == 3
    assert calls.counts == {"store": 1}


async def test_a_bad_placeholder_deep_inside_names_where_it_sits(calls: Calls) -> None:
    async with TestClient(counted_commands(calls)) as client:
        params = {"bundle": {"name": "n", "cover": {"$bin": 0}, "pages": [], "chunks": [{"$bin": 0}, {"$bin": 2}]}}
        reply = await client.send_raw(frame("store_bundle", params, [b"x", b"y"]))
        assert reply is not None
        err = json.loads(reply)["error"]
        assert err["code"] == "invalid_params" and err["data"]["errors"][0]["loc"] == ["bundle", "chunks", 1]
        assert "invalid params for 'store_bundle': bundle.chunks.1: " in err["message"]
        # A placeholder in a JSON text call (no attachments at all) names none either.
        text = json.dumps({"type": "call", "id": "t", "method": "store", "params": {"data": {"$bin": 0}}})
        reply = await client.send_raw(text)
        assert reply is not None and "names no attachment (the message has 0 attachments)" in json.loads(reply)["error"]["message"]
        # Positional params: the loc is the index.
        reply = await client.send_raw(frame("store", [{"$bin": 3}], [b"x"]))
        assert reply is not None and json.loads(reply)["error"]["data"]["errors"][0]["loc"] == [0]
    assert calls.total == 0


async def test_a_value_shaped_like_a_placeholder_is_refused_before_sending(calls: Calls) -> None:
    async with TestClient(counted_commands(calls)) as client:
        with pytest.raises(AttachmentError, match=r'data: a dict whose only key is "\$bin" would be read as an attachment placeholder'):
            await client.call("store", {"data": {"$bin": 0}}, timeout=5)
        assert await client.call("store", {"data": b"ok"}, timeout=5) == 2
    assert calls.counts == {"store": 1}


# -- results -----------------------------------------------------------------------------------


def result_commands() -> Commands:
    commands = Commands()

    @commands.command()
    async def shaped_like_a_placeholder(data: bytes) -> dict[str, Any]:
        return {"data": data, "oops": {"$bin": 0}}

    @commands.command()
    async def not_bytes(data: bytes) -> bytes:
        return cast("bytes", 3)

    @commands.command()
    async def odd_text(data: bytes) -> dict[str, Any]:
        return {"data": data, "name": "a\ud800b", "ratio": math.inf, "nan": math.nan, "when": dt.date(2024, 1, 2)}

    @commands.command()
    async def typed(data: bytes, when: dt.datetime, kind: Literal["a", "b"], point: tuple[int, int], tags: set[str], page: Page) -> dict[str, Any]:
        return {"n": len(data), "when": when.isoformat(), "kind": kind, "point": list(point), "tags": sorted(tags), "image": page.image}

    return commands


async def test_binary_results_are_checked_and_well_formed() -> None:
    async with TestClient(result_commands()) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("shaped_like_a_placeholder", {"data": b"x"}, timeout=5)
        assert info.value.code == "internal" and "would be read as an attachment placeholder" in info.value.message
        with pytest.raises(InvokeError) as info:
            await client.call("not_bytes", {"data": b"x"}, timeout=5)
        assert info.value.code == "internal"
        # As for JSON results: lone surrogates become U+FFFD, NaN and infinities null.
        got = await client.call("odd_text", {"data": NOT_UTF8}, timeout=5)
        assert got == {"data": NOT_UTF8, "name": "a\ufffdb", "ratio": None, "nan": None, "when": "2024-01-02"}


async def test_binary_params_are_validated_as_json_params_are() -> None:
    async with TestClient(result_commands()) as client:
        params = {"data": b"\xff", "when": "2024-01-02T03:04:05Z", "kind": "b", "point": [1, 2], "tags": ["y", "x", "y"], "page": {"title": "t", "image": NOT_UTF8}}
        assert await client.call("typed", params, timeout=5) == {
            "n": 1, "when": "2024-01-02T03:04:05+00:00", "kind": "b", "point": [1, 2], "tags": ["x", "y"], "image": NOT_UTF8
        }
        with pytest.raises(InvokeError) as info:
            await client.call("typed", {**params, "kind": "c", "point": [1]}, timeout=5)
        assert info.value.code == "invalid_params"
        assert info.value.message.startswith("invalid params for 'typed': kind: Input should be 'a' or 'b' (and 1 more error)")
        with pytest.raises(InvokeError) as info:
            await client.call("typed", {**params, "page": {"title": "t"}}, timeout=5)
        assert info.value.code == "invalid_params" and info.value.data["errors"][0]["loc"] == ["page", "image"]


async def test_attachments_beyond_max_binary_bytes_are_refused_before_sending() -> None:
    commands = make_commands()
    App(commands, limits={"max_binary_bytes": 1000})
    async with TestClient(commands) as client:
        assert await client.call("checksum", {"data": payload(1000)}, timeout=5) == sha256(payload(1000))
        with pytest.raises(InvokeError) as info:
            await client.call("checksum", {"data": payload(1001)}, timeout=5)
        assert info.value.code == "payload_too_large" and "1001 bytes" in info.value.message
        # Sent anyway (raw), the router refuses it and counts it.
        before = client.stats()["too_large"]
        assert await client.send_raw(frame("checksum", {"data": {"$bin": 0}}, [payload(1001)])) is None
        assert client.stats()["too_large"] == before + 1


# -- a binary command on a route that cannot carry bytes ---------------------------------------


class _Core:
    """Stands in for `_core.Core` where the runtime answers without running the handler."""

    def __init__(self) -> None:
        self.failed: list[tuple[Any, ...]] = []
        self.completed: list[tuple[Any, ...]] = []

    def fail(self, *args: Any) -> bool:
        self.failed.append(args)
        return True

    def complete(self, *args: Any) -> bool:
        self.completed.append(args)
        return True


async def test_a_binary_call_on_a_route_without_bytes_is_answered_internal_unrun(calls: Calls) -> None:
    # A window page's message path (JSON only) gives the runtime `blobs=None`; in-process
    # connections always carry bytes, so the runtime is driven directly here.
    commands = counted_commands(calls)
    store = commands.get("store")
    assert store is not None and store.binary
    core = _Core()
    runtime = Runtime(cast("_core.Core", core), [store], lambda _name: [])
    loop = asyncio.get_running_loop()
    runtime._start_call(loop, 7, store, b'{"data": "abc"}', 1, None)  # pyright: ignore[reportPrivateUsage]
    [(key, name, code, message)] = core.failed
    assert (key, name, code) == (7, "InternalError", "internal")
    assert message.startswith("command 'store' takes or returns bytes (a binary command)")
    assert "typed client" in message and "custom-protocol" in message and "docs/binary.md" in message
    assert core.completed == [] and calls.total == 0


# -- helpers -------------------------------------------------------------------------------------


def test_cut_and_put_back_are_inverse_and_copy_nothing() -> None:
    big = payload(1000)
    value = to_plain({"a": [big, {"b": big}], "m": Page(title="p", image=big), "t": (1, b"")})
    rest, blobs = cut(value)
    assert rest == {"a": [{"$bin": 0}, {"b": {"$bin": 1}}], "m": {"title": "p", "image": {"$bin": 2}, "thumbnail": None}, "t": [1, {"$bin": 3}]}
    assert blobs[0] is big and blobs[1] is big and blobs[2] is big
    back = put_back(from_json(to_json(rest)), blobs)
    assert back == {"a": [big, {"b": big}], "m": {"title": "p", "image": big, "thumbnail": None}, "t": [1, b""]}
    assert back["a"][0] is big
    # Not placeholders: other keys beside "$bin" (data as any other).
    assert put_back({"$bin": 0, "x": 1}, []) == {"$bin": 0, "x": 1}


def test_has_bytes_looks_into_containers_models_and_dataclasses() -> None:
    assert not has_bytes({"a": [1, "x", None, {"b": 2.5}], "m": Text(body="t")})
    assert has_bytes({"a": [1, {"b": (2, bytearray(b""))}]})
    assert has_bytes([Attachment(name="a", data=b"")])
    assert has_bytes({"p": Page(title="t", image=b"")})
    assert has_bytes(memoryview(b"x")) and not has_bytes("x")


# -- memory --------------------------------------------------------------------------------------

RSS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, {here!r})
    from binary_app import make_commands, payload, sha256
    from auroraview.testing import TestClient

    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024

    def reset_peak():
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        except OSError:
            pass

    async def main():
        size = {size}
        data = payload(size, 11)
        digest = sha256(data)
        async with TestClient(make_commands()) as client:
            assert await client.call("echo", {{"data": payload(1000)}}, timeout=30) == payload(1000)  # warm up
            reset_peak()
            base = status("VmHWM")
            back = await client.call("echo", {{"data": data}}, timeout=60)
            peak = status("VmHWM")
            assert sha256(back) == digest
        print(json.dumps({{"base": base, "peak": peak, "rss_after": status("VmRSS")}}))

    asyncio.run(main())
    """
)


@pytest.mark.timeout(120)
def test_a_100_mib_echo_takes_at_most_4x_its_size_in_memory() -> None:
    size = 100 * MiB
    script = RSS_SCRIPT.format(here=str(HERE), size=size)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    extra = got["peak"] - got["base"]
    # The payload itself is in the baseline; the echo's copies (the frame, the router's,
    # the handler's bytes, the reply frame, the result) come on top of it.
    assert extra <= 4 * size, f"a 100 MiB echo peaked {extra / MiB:.0f} MiB above its baseline"
    print(f"100 MiB echo: peak {extra / MiB:.0f} MiB above the baseline ({got})")

