"""Limits hold before anything reaches a handler: oversized messages, deep nesting, huge
containers (RELIABILITY.md cases 2 and 3); malformed messages keep the core serving (case 1)."""

from __future__ import annotations

import json
import resource
import time

from counting import Calls

from auroraview import Commands, _core
from auroraview.testing import TestClient


def build(calls: Calls) -> Commands:
    commands = Commands()

    @commands.command()
    async def take(data: object = None) -> int:
        calls.hit("take")
        return 1

    return commands


async def test_oversized_message_is_refused_before_parsing(calls: Calls) -> None:
    async with TestClient(build(calls), max_message_bytes=1024 * 1024) as client:
        big = json.dumps({"type": "call", "id": "big", "method": "take", "params": {"data": "x" * (2 * 1024 * 1024)}})
        reply = json.loads(await client.send_raw(big) or "null")
        assert reply["error"]["code"] == "payload_too_large"
        assert calls.total == 0
        assert await client.call("take") == 1
        assert client.stats()["too_large"] == 1


async def test_deep_nesting_is_refused_fast(calls: Calls) -> None:
    async with TestClient(build(calls)) as client:
        depth = 100_000
        msg = '{"type":"call","id":"deep","method":"take","params":{"data":' + "[" * depth + "]" * depth + "}}"
        started = time.perf_counter()
        reply = json.loads(await client.send_raw(msg) or "null")
        assert time.perf_counter() - started < 1.0
        assert reply["error"]["code"] == "invalid_message"
        assert "nesting deeper than" in reply["error"]["message"]
        assert calls.total == 0
        assert await client.call("take") == 1


async def test_million_key_object_is_refused_without_materializing(calls: Calls) -> None:
    limit = _core.DEFAULT_LIMITS["max_message_bytes"]
    body = ",".join(f'"k{i}":{i}' for i in range(1_000_000))
    msg = ('{"type":"call","id":"wide","method":"take","params":{"data":{' + body + "}}}").encode()
    assert len(msg) < limit  # under the size limit: the item limit must catch it
    async with TestClient(build(calls)) as client:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        started = time.perf_counter()
        reply = json.loads(await client.send_raw(msg) or "null")
        elapsed = time.perf_counter() - started
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert reply["error"]["code"] == "invalid_message"
    assert "more than 100000 items" in reply["error"]["message"]
    assert elapsed < 1.0
    assert growth < 2 * limit, f"peak memory grew by {growth / 2**20:.0f} MiB"
    assert calls.total == 0


async def test_malformed_messages_are_answered_or_counted_and_serving_continues(calls: Calls) -> None:
    async with TestClient(build(calls)) as client:
        assert await client.send_raw("not json") is None
        assert await client.send_raw(b"\xff\xfe") is None
        assert await client.send_raw('{"type":"call","method":"take"}') is None
        reply = json.loads(await client.send_raw('{"type":"call","id":5,"method":"take","params":{"data":NaN}}') or "null")
        assert reply["id"] == 5 and reply["error"]["code"] == "invalid_message"
        reply = json.loads(await client.send_raw('{"type":"bogus","id":6}') or "null")
        assert reply["error"]["code"] == "invalid_message"
        assert "unknown message type" in reply["error"]["message"]
        stats = client.stats()
        assert stats["dropped"] == 3 and stats["invalid_messages"] == 5
        assert calls.total == 0
        assert await client.call("take") == 1
