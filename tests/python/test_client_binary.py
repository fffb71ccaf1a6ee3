"""Binary data (docs/binary.md) through the Python network client (`auroraview.client`):
against a real `auroraview serve` (tests/python/binary_app.py, in a process of its own),
`bytes` both ways intact; and the client's side of the wire (what it sends as a binary
message, replies whose attachments do not match) against a scripted host."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from binary_app import NOT_UTF8, Bundle, MiB, Page, payload, sha256
from cli_server import serve as auroraview_serve
from pydantic_core import from_json, to_json
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from auroraview import InvokeError, _core
from auroraview._core import PROTOCOL_VERSION
from auroraview.client import connect, connect_async

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).parents[2]
APP = "tests/python/binary_app.py:commands"


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    with auroraview_serve(APP) as ready:
        yield ready


# -- against `auroraview serve` ----------------------------------------------------------------


@pytest.mark.timeout(180)
@pytest.mark.parametrize("size", [MiB, 100 * MiB], ids=["1MiB", "100MiB"])
async def test_bytes_arrive_intact_both_ways_over_the_network(served: dict[str, Any], size: int) -> None:
    data = payload(size, seed=size)
    digest = sha256(data)
    async with await connect_async(served["url"], timeout=10) as client:
        assert await client.call("checksum", {"data": data}, timeout=60) == digest
        back = await client.call("echo", {"data": data}, timeout=60)
        assert type(back) is bytes and len(back) == size and sha256(back) == digest
        del back, data
        # A call with no bytes in its params (sent as text); bytes in its reply.
        blob = await client.call("make_blob", {"size": size, "seed": 3}, timeout=60)
        assert type(blob["data"]) is bytes and len(blob["data"]) == size
        assert sha256(blob["data"]) == blob["sha256"] == sha256(payload(size, 3))


def test_the_blocking_client_carries_bytes_too(served: dict[str, Any]) -> None:
    data = payload(MiB + 3, seed=5)
    with connect(served["url"], timeout=10) as client:
        assert client.call("checksum_sync", [data], timeout=30) == sha256(data)
        assert client.call("echo_sync", {"data": data}, timeout=30) == data
        assert client.call("echo", {"data": b""}, timeout=30) == b""
        assert client.call("echo", {"data": NOT_UTF8[:1]}, timeout=30) == b"\x89"
        assert client.call("add", {"a": 1, "b": 2}, timeout=30) == 3  # JSON as ever


async def test_a_model_with_nested_bytes_over_the_network(served: dict[str, Any]) -> None:
    b = Bundle(
        name="n",
        cover=payload(100, 1),
        pages=[Page(title="a", image=payload(5000, 2), thumbnail=NOT_UTF8), Page(title="b", image=b"")],
        chunks=[b"", payload(3, 3), payload(70_000, 4)],
        extra={"k": payload(9, 5)},
    )
    async with await connect_async(served["url"], timeout=10) as client:
        back = await client.call("echo_bundle", {"bundle": b}, timeout=30)
        assert Bundle.model_validate(back) == b and back["chunks"][2] == b.chunks[2]
        digests = await client.call("digest_bundle", {"bundle": b.model_dump()}, timeout=30)
        assert digests["pages.0.thumbnail"] == sha256(NOT_UTF8) and digests["chunks.2"] == sha256(b.chunks[2])
        assert len(digests) == 1 + 3 + 3 + 1


async def test_a_bad_placeholder_sent_raw_is_invalid_params(served: dict[str, Any]) -> None:
    async with await connect_async(served["url"], timeout=10) as client:
        # What a broken client would send: a frame whose placeholder names no attachment.
        msg = {"type": "call", "id": 999_999, "method": "checksum", "params": {"data": {"$bin": 1}}}
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        client._pending[999_999] = fut  # pyright: ignore[reportPrivateUsage]
        await client._send(_core.encode_frame(to_json(msg), [b"x"]))  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(InvokeError) as info:
            await asyncio.wait_for(fut, 10)
        assert info.value.code == "invalid_params" and "names no attachment (the message has 1 attachment)" in info.value.message
        assert await client.call("checksum", {"data": b"x"}, timeout=10) == sha256(b"x")


def test_auroraview_call_prints_bytes_as_base64(served: dict[str, Any]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "auroraview", "call", served["url"], "make_blob", '{"size": 4}', "--compact"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"data": base64.b64encode(payload(4)).decode(), "sha256": sha256(payload(4))}


# -- the wire, against a scripted host ---------------------------------------------------------

TOKEN = "b" * 43

#: Answers one call: ``reply(ws, call, blobs)`` (``blobs``: the call's attachments, None for a
#: JSON text call).
Reply = Callable[[ServerConnection, dict[str, Any], "list[bytes] | None"], Awaitable[None]]


class ScriptedHost:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.received: list[tuple[str, dict[str, Any], list[bytes] | None]] = []  # (kind, msg, blobs)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={TOKEN}"

    async def handle(self, ws: ServerConnection) -> None:
        welcome = {"type": "welcome", "conn": 1, "heartbeat_ms": 15_000, "protocol": PROTOCOL_VERSION}
        await ws.send(to_json(welcome).decode())
        try:
            async for message in ws:
                blobs: list[bytes] | None = None
                if isinstance(message, bytes):
                    text, blobs = _core.decode_frame(message)
                    msg = from_json(text)
                    self.received.append(("binary", msg, blobs))
                else:
                    msg = from_json(message)
                    self.received.append(("text", msg, None))
                if msg["type"] == "call":
                    await self.reply(ws, msg, blobs)
        except ConnectionClosed:
            pass


@contextlib.asynccontextmanager
async def scripted(reply: Reply) -> Any:
    host = ScriptedHost(reply)
    server = await serve(host.handle, "127.0.0.1", 0, ping_interval=None, compression=None, max_size=None)
    host.port = server.sockets[0].getsockname()[1]
    try:
        yield host
    finally:
        server.close()


def result_frame(call_id: Any, result: Any, blobs: list[bytes]) -> bytes:
    return _core.encode_frame(to_json({"type": "call_result", "id": call_id, "ok": True, "result": result}), blobs)


async def test_only_calls_whose_params_hold_bytes_go_as_binary_messages() -> None:
    async def reply(ws: ServerConnection, call: dict[str, Any], blobs: list[bytes] | None) -> None:
        result = {"echo": call.get("params"), "n": None if blobs is None else len(blobs)}
        await ws.send(to_json({"type": "call_result", "id": call["id"], "ok": True, "result": result}).decode())  # text: placeholders kept

    async with scripted(reply) as host, await connect_async(host.url, timeout=5) as client:
        assert await client.call("plain", {"a": [1, "x"]}, timeout=5) == {"echo": {"a": [1, "x"]}, "n": None}
        got = await client.call("raw", {"a": [1, b"\xff"], "p": Page(title="t", image=b"")}, timeout=5)
        assert got == {"echo": {"a": [1, {"$bin": 0}], "p": {"title": "t", "image": {"$bin": 1}, "thumbnail": None}}, "n": 2}
        assert await client.call("none", timeout=5) == {"echo": None, "n": None}
    kinds = [(kind, msg["method"]) for kind, msg, _ in host.received if msg["type"] == "call"]
    assert kinds == [("text", "plain"), ("binary", "raw"), ("text", "none")]
    [(_, _, blobs)] = [r for r in host.received if r[0] == "binary"]
    assert blobs == [b"\xff", b""]


async def test_a_binary_reply_s_attachments_are_put_back() -> None:
    async def reply(ws: ServerConnection, call: dict[str, Any], blobs: list[bytes] | None) -> None:
        if call["method"] == "bad":
            await ws.send(result_frame(call["id"], {"data": {"$bin": 2}}, [b"a"]))
        elif call["method"] == "garbage":
            await ws.send(b"\x00\x01")  # not a whole frame: ignored (logged)
            await ws.send(result_frame(call["id"], [{"$bin": 0}, {"$bin": 0}, "s"], [NOT_UTF8]))
        else:
            error = {"name": "Nope", "code": "nope", "message": "no", "data": {"k": 1}}
            await ws.send(_core.encode_frame(to_json({"type": "call_result", "id": call["id"], "ok": False, "error": error}), []))

    async with scripted(reply) as host, await connect_async(host.url, timeout=5) as client:
        with pytest.raises(InvokeError) as info:
            await client.call("bad", timeout=5)
        assert info.value.code == "internal" and "attachments do not match" in info.value.message
        assert await client.call("garbage", timeout=5) == [NOT_UTF8, NOT_UTF8, "s"]
        with pytest.raises(InvokeError) as info:
            await client.call("error", timeout=5)
        assert (info.value.code, info.value.data) == ("nope", {"k": 1})
        assert not client.closed


async def test_params_shaped_like_a_placeholder_are_refused_before_sending() -> None:
    async def reply(ws: ServerConnection, call: dict[str, Any], blobs: list[bytes] | None) -> None:
        await ws.send(result_frame(call["id"], None, []))

    async with scripted(reply) as host, await connect_async(host.url, timeout=5) as client:
        with pytest.raises(ValueError, match=r'a dict whose only key is "\$bin"'):
            await client.call("x", {"data": b"1", "other": {"$bin": 0}}, timeout=5)
        assert await client.call("y", {"data": b"1"}, timeout=5) is None
    assert [msg["method"] for _, msg, _ in host.received if msg["type"] == "call"] == ["y"]
