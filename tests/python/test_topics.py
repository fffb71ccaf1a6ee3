"""Topics through the test client (docs/topics.md): declaration, validation, rules, order,
offsets and epochs, recovery from history, the app's own subscribers, presence."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from auroraview import App, CallContext, Commands, InvokeError, Rule
from auroraview.testing import TestClient


class SceneUpdate(BaseModel):
    node: str
    visible: bool


def make(**kw: Any) -> tuple[App, Commands]:
    commands = Commands(**kw)
    commands.topic("scene/updates", SceneUpdate, history=5, publish=True)
    commands.topic("log", str)  # only the app publishes
    commands.topic("private/x", int, subscribe=Rule(check=lambda ctx, topic: ctx.window == "main"))
    commands.topic("nohist", int, history=0, publish=True)
    return App(commands), commands


async def test_subscribers_get_every_message_in_order_with_offsets_and_one_epoch() -> None:
    app, _ = make()
    async with TestClient(app) as a, TestClient(app) as b:
        got_a: list[Any] = []
        first = await a.subscribe("scene/updates", got_a.append)
        assert first["offset"] == 0 and len(first["epoch"]) == 16 and "recovered" not in first
        await b.subscribe("scene/updates")
        for i in range(200):
            offset = app.publish("scene/updates", SceneUpdate(node=f"n{i}", visible=i % 2 == 0))
            assert offset == i + 1
        await a.wait_for_publication("scene/updates", 200)
        await b.wait_for_publication("scene/updates", 200)
        for client in (a, b):
            pubs = client.publications("scene/updates")
            assert [p.offset for p in pubs] == list(range(1, 201))
            assert {p.epoch for p in pubs} == {first["epoch"]}
            assert pubs[7].data == {"node": "n7", "visible": False}
        assert got_a == [p.data for p in a.publications()]
        assert app.stats()["publications"] == 200
        assert app.stats()["deliveries"] == 400


async def test_a_client_publish_is_validated_and_answered_with_its_offset() -> None:
    app, _ = make()
    async with TestClient(app) as sub, TestClient(app) as pub:
        await sub.subscribe("scene/updates")
        r = await pub.publish("scene/updates", {"node": "a", "visible": True})
        assert r["offset"] == 1 and len(r["epoch"]) == 16
        with pytest.raises(InvokeError) as bad:
            await pub.publish("scene/updates", {"node": "a", "visible": "maybe"})
        assert bad.value.code == "invalid_params"
        assert "data.visible" in bad.value.message
        assert bad.value.data["errors"][0]["loc"] == ["data", "visible"]
        with pytest.raises(InvokeError) as forbidden:
            await pub.publish("log", "hello")
        assert forbidden.value.code == "forbidden"
        with pytest.raises(InvokeError) as unknown:
            await pub.publish("nope", 1)
        assert unknown.value.code == "unknown_topic" and unknown.value.name == "UnknownTopic"
        with pytest.raises(InvokeError) as unknown_sub:
            await pub.subscribe("nope/either")
        assert unknown_sub.value.code == "unknown_topic"
        with pytest.raises(InvokeError) as bad_name:
            await pub.subscribe("a b")
        assert bad_name.value.code == "invalid_params"
        with pytest.raises(InvokeError) as unsafe:
            await pub.publish("nohist", 2**60)
        assert unsafe.value.code == "invalid_params"
        # Nothing refused reached the subscriber.
        pub1 = await sub.wait_for_publication("scene/updates", 1)
        assert pub1.data == {"node": "a", "visible": True}
        await asyncio.sleep(0.05)
        assert [p.offset for p in sub.publications()] == [1]
        assert app.stats()["publications"] == 1


async def test_the_app_publishing_validates_and_refuses_what_is_not_a_topic() -> None:
    app, _ = make()
    with pytest.raises(ValueError):
        app.publish("scene/updates", {"node": "a"})  # pydantic.ValidationError is a ValueError
    with pytest.raises(LookupError):
        app.publish("undeclared", 1)
    with pytest.raises(ValueError):
        app.publish("bad name!", 1)
    with pytest.raises(ValueError):
        app.publish("nohist", 2**60)
    assert app.publish("log", "fine") == 1


async def test_rules_decide_who_subscribes_with_the_caller_context() -> None:
    app, _ = make()
    seen: list[CallContext] = []

    def only_in_process(ctx: CallContext, topic: str) -> bool:
        seen.append(ctx)
        return ctx.transport == "in_process" and topic == "ruled"

    app.commands.topic("ruled", int, subscribe=Rule(check=only_in_process), publish=Rule(transports=("network",)))
    async with TestClient(app) as c:
        await c.subscribe("ruled")
        assert seen and seen[0].conn == c.connection
        with pytest.raises(InvokeError) as refused:
            await c.subscribe("private/x")  # a window's only
        assert refused.value.code == "forbidden"
        with pytest.raises(InvokeError) as refused_pub:
            await c.publish("ruled", 1)  # network clients only
        assert refused_pub.value.code == "forbidden"


async def test_a_rule_that_raises_answers_internal_and_subscribes_nobody() -> None:
    app, _ = make()

    def broken(ctx: CallContext, topic: str) -> bool:
        raise RuntimeError("boom")

    app.commands.topic("broken", int, subscribe=Rule(check=broken))
    async with TestClient(app) as c:
        with pytest.raises(InvokeError) as err:
            await c.subscribe("broken")
        assert err.value.code == "internal"
        assert app.presence("broken") == []


async def test_resubscribing_since_an_offset_recovers_exactly_the_gap() -> None:
    app, _ = make()
    async with TestClient(app) as first:
        sub = await first.subscribe("scene/updates")
        for i in range(3):
            app.publish("scene/updates", {"node": f"n{i}", "visible": True})
        await first.wait_for_publication("scene/updates", 3)
        epoch = sub["epoch"]
    # "Reconnected": a new connection resumes from offset 1; 2 and 3 and what came meanwhile
    # are replayed, in order, before anything newer.
    app.publish("scene/updates", {"node": "n3", "visible": False})
    async with TestClient(app) as again:
        r = await again.subscribe("scene/updates", since=(epoch, 1))
        assert r == {"epoch": epoch, "offset": 4, "recovered": True}
        app.publish("scene/updates", {"node": "n4", "visible": True})
        await again.wait_for_publication("scene/updates", 5)
        assert [p.offset for p in again.publications()] == [2, 3, 4, 5]
        # Caught up: nothing to replay.
    async with TestClient(app) as current:
        r = await current.subscribe("scene/updates", since=(epoch, 5))
        assert r["recovered"] is True
        await asyncio.sleep(0.02)
        assert current.publications() == []


async def test_a_gap_beyond_the_history_or_another_epoch_is_told_not_papered_over() -> None:
    app, _ = make()
    for i in range(8):  # history keeps 5: offsets 4..8
        app.publish("scene/updates", {"node": f"n{i}", "visible": True})
    position = app.core.topic_presence("scene/updates")
    assert position is not None
    epoch = position[1]
    async with TestClient(app) as c:
        r = await c.subscribe("scene/updates", since=(epoch, 2))
        assert r["recovered"] is False and "no longer holds offset 3" in r["reason"]
        assert r["offset"] == 8
        r2 = await c.subscribe("nohist", since=("0000000000000000", 0))
        assert r2["recovered"] is False and "new one" in r2["reason"]
        app.publish("scene/updates", {"node": "new", "visible": True})
        p = await c.wait_for_publication("scene/updates", 9)
        assert p.data["node"] == "new"
        assert [q.offset for q in c.publications("scene/updates")] == [9], "nothing of the gap, nothing twice"
    async with TestClient(app) as d:
        ahead = await d.subscribe("scene/updates", since=(epoch, 99))
        assert ahead["recovered"] is False and "ahead" in ahead["reason"]


async def test_unsubscribe_stops_delivery_before_it_returns_and_a_closed_client_leaves_every_topic() -> None:
    app, _ = make()
    async with TestClient(app) as c:
        await c.subscribe("scene/updates")
        await c.subscribe("log")
        assert [p["id"] for p in app.presence("scene/updates")] == [c.connection]
        await c.unsubscribe("scene/updates")
        await c.unsubscribe("scene/updates")  # not subscribed: not an error
        app.publish("scene/updates", {"node": "a", "visible": True})
        app.publish("log", "x")
        await c.wait_for_publication("log", 1)
        assert [p.topic for p in c.publications()] == ["log"]
        assert app.presence("scene/updates") == []
        conn = c.connection
    assert app.presence("log") == []
    assert app.stats()["deliveries"] == 1
    position = app.core.topic_presence("log")
    assert position is not None and conn not in position[0]


async def test_the_app_subscribes_too_async_and_sync_handlers_in_order() -> None:
    app, _ = make()
    got_async: list[str] = []
    got_sync: list[tuple[str, str]] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def on_log(text: str) -> None:
        got_async.append(text)
        if len(got_async) == 300:
            done.set()

    def on_scene(update: SceneUpdate) -> None:
        got_sync.append((update.node, threading.current_thread().name))
        if len(got_sync) == 300:
            loop.call_soon_threadsafe(done.set)

    app.subscribe("log", on_log)
    async with TestClient(app) as c:
        for i in range(300):
            await c.publish("scene/updates", {"node": f"n{i}", "visible": True}) if i % 50 == 0 else app.publish(
                "scene/updates", SceneUpdate(node=f"n{i}", visible=True)
            )
            app.publish("log", f"m{i}")
        app.subscribe("scene/updates", on_scene)  # from now on only
        app.publish("scene/updates", SceneUpdate(node="after", visible=True))
        await asyncio.wait_for(done.wait(), 5)
        assert got_async == [f"m{i}" for i in range(300)]
        await asyncio.sleep(0.1)
        assert [n for n, _ in got_sync] == ["after"]
        assert app.unsubscribe("log", on_log) is True
        assert app.unsubscribe("log", on_log) is False
        app.publish("log", "unheard")
        await asyncio.sleep(0.05)
        assert got_async[-1] == "m299"


async def test_open_topics_allow_any_valid_name_untyped_and_the_prefix_is_reserved() -> None:
    app, commands = make(open_topics=True)
    async with TestClient(app) as sub, TestClient(app) as pub:
        await sub.subscribe("anything/goes")
        r = await pub.publish("anything/goes", {"free": ["form", 1]})
        p = await sub.wait_for_publication("anything/goes", r["offset"])
        assert p.data == {"free": ["form", 1]}
        with pytest.raises(InvokeError) as bad:
            await sub.subscribe("no spaces")
        assert bad.value.code == "invalid_params"
    with pytest.raises(ValueError, match="reserved"):

        @commands.command("auroraview.mine")
        async def mine() -> None: ...

    with pytest.raises(ValueError, match="declared already"):
        commands.topic("log", int)
    with pytest.raises(TypeError, match="bytes"):
        commands.topic("binary", bytes)
    with pytest.raises(ValueError, match="history"):
        commands.topic("neg", int, history=-1)


async def test_topics_are_not_commands_in_the_contract_and_reserved_methods_are_not_listed() -> None:
    app, commands = make()
    assert not any(c.name.startswith("auroraview.") for c in commands)
    async with TestClient(app) as c:
        with pytest.raises(InvokeError) as err:
            await c.call("auroraview.subscribe", {"since": {"epoch": "e", "offset": 1}})
        assert err.value.code == "invalid_params"  # no topic


async def test_a_negative_since_offset_is_invalid_params_not_a_full_replay() -> None:
    app, _ = make()
    app.publish("scene/updates", {"node": "a", "visible": True})
    async with TestClient(app) as c:
        with pytest.raises(InvokeError) as err:
            await c.subscribe("scene/updates", since=("whatever", -1))
        assert err.value.code == "invalid_params"
        assert c.publications() == []


async def test_the_apps_handlers_hear_only_what_is_published_while_it_runs_nothing_piles_up() -> None:
    app, _ = make()
    heard: list[str] = []
    app.subscribe("log", heard.append)
    for i in range(1000):  # no window, server or client: nothing runs the handlers
        app.publish("log", f"early {i}")
    async with TestClient(app):
        app.publish("log", "while running")
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert heard == ["while running"]
    app.publish("log", "after")  # stopped again: not queued
    async with TestClient(app):
        app.publish("log", "again")
        for _ in range(100):
            if len(heard) == 2:
                break
            await asyncio.sleep(0.01)
        assert heard == ["while running", "again"]
