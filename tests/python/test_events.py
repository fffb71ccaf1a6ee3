"""Events both ways: page→Python handlers (sync/async, several per name, failures isolated)
and Python→page `emit` (pydantic payloads, order, nothing lost, backlog before connect)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

import pytest
from pydantic import BaseModel

from auroraview import Commands, WebView
from auroraview.testing import TestClient


class ExportRequest(BaseModel):
    path: str
    format: str = "fbx"


@dataclasses.dataclass
class Selection:
    items: list[str]


async def test_page_events_reach_every_handler_validated() -> None:
    commands = Commands()
    seen: list[tuple[str, object]] = []
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    @commands.on("export_scene")
    async def on_export(req: ExportRequest) -> None:
        seen.append(("async", req))

    @commands.on("export_scene")
    def on_export_sync(req: ExportRequest) -> None:
        threads["sync"] = threading.get_ident()
        seen.append(("sync", req.path))

    @commands.on("export_scene")
    def raw(detail):  # type: ignore[no-untyped-def]
        seen.append(("raw", detail))

    @commands.on("ping")
    async def no_detail() -> None:
        seen.append(("ping", None))

    async with TestClient(commands) as client:
        await client.send_event("export_scene", {"path": "/tmp/a.fbx"})
        await client.send_event("ping")
        await client.send_event("nobody_listens", {"x": 1})
    assert ("async", ExportRequest(path="/tmp/a.fbx")) in seen
    assert ("sync", "/tmp/a.fbx") in seen
    assert ("raw", {"path": "/tmp/a.fbx"}) in seen
    assert ("ping", None) in seen
    assert threads["sync"] != loop_thread  # sync handlers never run on the loop


async def test_an_event_no_handler_listens_for_is_logged_once_per_name(caplog: pytest.LogCaptureFixture) -> None:
    commands = Commands()

    @commands.on("export_scene")
    def on_export(req: ExportRequest) -> None:
        pass

    with caplog.at_level(logging.WARNING, logger="auroraview"):
        async with TestClient(commands) as client:
            for _ in range(3):
                await client.send_event("export_secne", {"path": "/tmp/a"})  # a typo
            await client.send_event("other", None)
            await client.send_event("export_scene", {"path": "/tmp/a"})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(" and ")[0] for r in warnings] == [
        "the page sent event 'export_secne'",
        "the page sent event 'other'",
    ]
    assert "@commands.on('export_secne')" in warnings[0].getMessage()


async def test_a_failing_handler_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    commands = Commands()
    ran: list[str] = []

    @commands.on("e")
    def boom(detail: int) -> None:
        raise RuntimeError("listener exploded")

    @commands.on("e")
    async def aboom(detail: int) -> None:
        raise RuntimeError("async listener exploded")

    @commands.on("e")
    def ok(detail: int) -> None:
        ran.append(f"ok{detail}")

    with caplog.at_level(logging.ERROR, logger="auroraview"):
        async with TestClient(commands) as client:
            await client.send_event("e", 1)
            await client.send_event("e", "not an int")  # rejected by validation, logged
            await client.send_event("e", 2)
    assert ran == ["ok1", "ok2"]
    assert "listener exploded" in caplog.text and "async listener exploded" in caplog.text


async def test_sync_event_handlers_run_in_arrival_order() -> None:
    commands = Commands()
    got: list[int] = []

    @commands.on("n")
    def record(n: int) -> None:
        got.append(n)

    async with TestClient(commands) as client:
        for i in range(500):
            client._conn.send(b'{"type":"event","event":"n","detail":%d}' % i)
        await client.runtime.events_idle()
    assert got == list(range(500))


async def test_emit_serializes_with_pydantic_and_keeps_order() -> None:
    view = WebView(title="t")
    async with TestClient(view) as client:
        view.emit("selection_changed", Selection(items=["mesh1"]))
        view.emit("export", ExportRequest(path="/x"))
        view.emit("nothing")
        for i in range(10_000):
            view.emit("tick", {"seq": i})
        events = client.events
    assert events[0].name == "selection_changed" and events[0].payload == {"items": ["mesh1"]}
    assert events[1].payload == {"path": "/x", "format": "fbx"}
    assert events[2].payload is None
    seq = [e.payload["seq"] for e in events[3:]]
    assert seq == list(range(10_000)), "events lost or reordered"


async def test_emit_from_another_thread_and_wait_for_event() -> None:
    commands = Commands()
    async with TestClient(commands) as client:
        waiter = asyncio.ensure_future(client.wait_for_event("from_thread"))
        await asyncio.sleep(0)
        t = threading.Thread(target=commands.emit, args=("from_thread", [1, 2]))
        t.start()
        t.join()
        event = await waiter
    assert event.payload == [1, 2]


async def test_events_emitted_before_a_client_connects_are_delivered() -> None:
    commands = Commands()
    commands.emit("early", 1)
    commands.emit("early", 2)
    async with TestClient(commands) as client:
        commands.emit("late", 3)
        assert [(e.name, e.payload) for e in client.events] == [("early", 1), ("early", 2), ("late", 3)]


def test_emit_refuses_what_pydantic_cannot_serialize() -> None:
    commands = Commands()
    with pytest.raises(Exception, match="Unable to serialize"):
        commands.emit("bad", object())
    with pytest.raises(ValueError, match="event name must be"):
        commands.emit("", 1)


async def test_payloads_round_trip_unchanged() -> None:
    tricky = {
        "__proto__": {"polluted": True},
        "script": "</script><script>alert(1)</script>",
        "separators": "\u2028\u2029",
        "quotes": "'\"`${x}`",
        "unicode": "héllo 🌍 \x00",
    }
    commands = Commands()

    @commands.command()
    async def echo(value: dict[str, object]) -> dict[str, object]:
        return value

    async with TestClient(commands) as client:
        assert await client.call("echo", {"value": tricky}) == tricky
        commands.emit("it's \"quoted\"</script>", tricky)
        assert client.events[-1].name == "it's \"quoted\"</script>"
        assert client.events[-1].payload == tricky
