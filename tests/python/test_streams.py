"""Streams (generator commands) and channels (`Channel[T]` parameters) through the real
router, with the test client as the caller (docs/streams.md; issue 11)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from auroraview import STREAM_WINDOW, Channel, ChannelClosed, Commands, InvokeError, InvokeException
from auroraview.contract import build_contract
from auroraview.testing import TestClient


class Progress(BaseModel):
    done: int
    total: int


class Boom(InvokeException):
    code = "boom"


def _app() -> tuple[Commands, dict[str, Any]]:
    commands = Commands()
    seen: dict[str, Any] = {"finally": [], "produced": 0, "sent": []}

    @commands.command()
    async def count(n: int) -> AsyncIterator[int]:
        try:
            for i in range(n):
                seen["produced"] += 1
                yield i
        finally:
            seen["finally"].append("count")

    @commands.command()
    def count_sync(n: int) -> Iterator[int]:
        try:
            for i in range(n):
                seen["produced"] += 1
                yield i
        finally:
            seen["finally"].append("count_sync")

    @commands.command()
    async def forever() -> AsyncIterator[Progress]:
        try:
            i = 0
            while True:
                i += 1
                seen["produced"] = i
                yield Progress(done=i, total=0)
                await asyncio.sleep(0)
        finally:
            seen["finally"].append("forever")

    @commands.command()
    async def fails_after(n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i
        raise Boom("it broke", data={"at": n})

    @commands.command()
    async def wrong_item() -> AsyncIterator[int]:
        yield "not an int"  # type: ignore[misc]

    @commands.command()
    async def export(path: str, progress: Channel[Progress]) -> str:
        for done in range(1, 4):
            await progress.send(Progress(done=done, total=3))
        return path

    @commands.command()
    def export_sync(n: int, log: Channel[str]) -> int:
        for i in range(n):
            log.send_blocking(f"line {i}")
            seen["sent"].append(i)
        return n

    @commands.command(timeout=0.3)
    async def slow_stream() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.sleep(30)
            yield 2
        finally:
            seen["finally"].append("slow_stream")

    return commands, seen


async def test_a_stream_of_100_000_items_arrives_in_order_none_lost_none_duplicated() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        got = [x async for x in client.stream("count", {"n": 100_000})]
        assert got == list(range(100_000))
        assert seen["finally"] == ["count"]
        stats = client.stats()
        assert stats["items_sent"] == 100_000
        assert stats["late_items"] == 0


async def test_a_sync_generator_streams_from_the_worker_pool() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        assert [x async for x in client.stream("count_sync", {"n": 1000})] == list(range(1000))
        await asyncio.sleep(0.05)
        assert seen["finally"] == ["count_sync"]


@pytest.mark.parametrize("method", ["count", "count_sync"])
async def test_a_reader_that_stops_reading_holds_the_producer_at_the_window(method: str) -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        items = client.stream(method, {"n": 100_000})
        assert await anext(items) == 0
        await asyncio.sleep(0.3)
        # The window, plus the one a sync generator computes before it waits for credit.
        assert seen["produced"] <= STREAM_WINDOW + 1
        assert client.app.core.stats()["items_sent"] == STREAM_WINDOW
        await items.aclose()
        await asyncio.sleep(0.1)
        assert seen["finally"] == [method]


async def test_large_items_are_held_by_the_byte_window() -> None:
    commands = Commands()
    made: list[int] = []

    @commands.command()
    async def big() -> AsyncIterator[str]:
        for i in range(100):
            made.append(i)
            yield "x" * (1024 * 1024)

    async with TestClient(commands) as client:
        items = client.stream("big")
        assert len(await anext(items)) == 1024 * 1024
        await asyncio.sleep(0.3)
        # 4 MiB: four items of 1 MiB and their quotes fill it; the fifth waits.
        assert client.app.core.stats()["items_sent"] == 4
        assert len(made) <= 5
        await items.aclose()


async def test_break_closes_the_generator_and_runs_its_finally_within_100_ms() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        async for item in client.stream("forever"):
            if item["done"] == 10:
                break
        start = time.monotonic()
        while not seen["finally"] and time.monotonic() - start < 1:
            await asyncio.sleep(0.001)
        assert seen["finally"] == ["forever"]
        assert time.monotonic() - start < 0.1
        await asyncio.sleep(0.05)
        assert client.app.core.in_flight == 0
        assert client.stats()["cancelled"] == 1


async def test_an_error_ends_the_stream_after_its_items_with_the_structured_error() -> None:
    commands, _ = _app()
    async with TestClient(commands) as client:
        got: list[int] = []
        with pytest.raises(InvokeError) as info:
            async for x in client.stream("fails_after", {"n": 3}):
                got.append(x)
        assert got == [0, 1, 2]
        assert (info.value.name, info.value.code, info.value.message, info.value.data) == ("Boom", "boom", "it broke", {"at": 3})


async def test_an_item_of_the_wrong_type_ends_the_stream_internal() -> None:
    commands, _ = _app()
    async with TestClient(commands) as client:
        with pytest.raises(InvokeError) as info:
            [x async for x in client.stream("wrong_item")]
        assert info.value.code == "internal"


async def test_the_commands_timeout_ends_the_stream_and_closes_the_generator() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        got: list[int] = []
        with pytest.raises(InvokeError) as info:
            async for x in client.stream("slow_stream"):
                got.append(x)
        assert got == [1]
        assert info.value.code == "timeout"
        await asyncio.sleep(0.05)
        assert seen["finally"] == ["slow_stream"]


async def test_a_caller_timeout_cancels_the_stream() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        with pytest.raises(InvokeError) as info:
            async for _ in client.stream("slow_stream", timeout=0.05):
                pass
        assert info.value.code == "timeout"
        await asyncio.sleep(0.05)
        assert seen["finally"] == ["slow_stream"]


async def test_closing_the_client_ends_its_streams_and_their_generators() -> None:
    commands, seen = _app()
    client = await TestClient(commands).__aenter__()
    items = client.stream("forever")
    await anext(items)
    await client.aclose()
    with pytest.raises(InvokeError) as info:
        async for _ in items:
            pass
    assert info.value.code == "shutting_down"
    assert seen["finally"] == ["forever"]


async def test_1000_streams_cancelled_at_once_get_exactly_one_terminal_reply_each() -> None:
    commands, seen = _app()

    @commands.command()
    async def trickle() -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
                # 10 items/s each, 10,000/s in all: at 100/s each the 1,000 streams asked
                # for about the most this machine moves (~180,000 items/s with acks), and the
                # test took 5 s to 220 s by how busy it was (a timeout at 60 s).
                await asyncio.sleep(0.1)
        finally:
            seen["finally"].append("trickle")

    async with TestClient(commands) as client:
        streams = [client.stream("trickle") for _ in range(1000)]
        for s in streams:
            await anext(s)
        for s in streams:
            await s.aclose()
        deadline = time.monotonic() + 5
        while len(seen["finally"]) < 1000 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(seen["finally"]) == 1000
        stats = client.stats()
        terminal = {k: stats[k] for k in ("cancelled", "unknown_cancels", "late_results", "late_items", "timeouts", "duplicate_ids")}
        assert terminal["cancelled"] == 1000, terminal
        assert terminal["unknown_cancels"] == terminal["late_results"] == terminal["duplicate_ids"] == 0, terminal
        assert client.app.core.in_flight == 0


async def test_a_channel_s_items_arrive_in_order_before_its_result() -> None:
    commands, _ = _app()
    async with TestClient(commands) as client:
        log: list[Any] = []
        result = await client.call("export", {"path": "/tmp/x"}, on_item=lambda p: log.append(("item", p["done"])))
        log.append(("result", result))
        assert log == [("item", 1), ("item", 2), ("item", 3), ("result", "/tmp/x")]


async def test_a_sync_channel_is_back_pressured_and_ordered() -> None:
    commands, seen = _app()
    async with TestClient(commands) as client:
        got: list[str] = []
        assert await client.call("export_sync", {"n": 5000}, on_item=got.append) == 5000
        assert got == [f"line {i}" for i in range(5000)]
        assert seen["sent"] == list(range(5000))


async def test_channel_misuse_and_a_closed_channel_raise() -> None:
    commands = Commands()
    outcome: dict[str, Any] = {}
    release = threading.Event()

    @commands.command()
    def wrong_way(ch: Channel[int]) -> None:
        try:
            asyncio.run(ch.send(1))
        except RuntimeError as exc:
            outcome["send"] = str(exc)

    @commands.command()
    async def wrong_way_async(ch: Channel[int]) -> None:
        try:
            ch.send_blocking(1)
        except RuntimeError as exc:
            outcome["blocking"] = str(exc)

    @commands.command()
    def outlived(ch: Channel[int]) -> None:
        release.wait(5)
        try:
            ch.send_blocking(1)
        except ChannelClosed as exc:
            outcome["closed"] = str(exc)

    async with TestClient(commands) as client:
        await client.call("wrong_way", on_item=lambda _: None)
        await client.call("wrong_way_async", on_item=lambda _: None)
        assert "send_blocking" in outcome["send"]
        assert "await channel.send" in outcome["blocking"]
        with pytest.raises(InvokeError):
            await client.call("outlived", timeout=0.05, on_item=lambda _: None)
        release.set()
        for _ in range(100):
            if "closed" in outcome:
                break
            await asyncio.sleep(0.01)
        assert "ended" in outcome["closed"]


def test_streams_and_channels_in_the_contract() -> None:
    commands, _ = _app()
    contract = build_contract(commands)
    by_name = {c["name"]: c for c in contract["commands"]}
    assert by_name["count"]["stream"] == {"type": "integer"}
    assert by_name["count"]["result"] == {"type": "null"}
    assert by_name["forever"]["stream"] == {"$ref": "#/$defs/Progress"}
    export = by_name["export"]
    assert export["channel"] == {"param": "progress", "item": {"$ref": "#/$defs/Progress"}}
    assert "progress" not in json.dumps(export["params"])
    assert "stream" not in export and "channel" not in by_name["count"]


def test_a_stream_command_is_annotated_as_one_and_takes_no_channel() -> None:
    commands = Commands()
    with pytest.raises(TypeError, match=r"annotate its return as AsyncIterator\[T\]"):

        @commands.command()
        async def bad() -> list[int]:  # type: ignore[misc]
            yield 1

    with pytest.raises(TypeError, match="takes no Channel"):

        @commands.command()
        async def both(ch: Channel[int]) -> AsyncIterator[int]:
            yield 1

    with pytest.raises(TypeError, match="are all channels"):

        @commands.command()
        async def two(a: Channel[int], b: Channel[int]) -> None: ...

    @commands.command()
    def untyped():  # type: ignore[no-untyped-def]
        yield 1

    assert build_contract(commands)["commands"][0]["stream"] == {}
