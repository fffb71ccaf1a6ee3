"""One app, many transports: two windows of one registry share one router and one
runtime; each page's connection carries its window's identity; events reach the window,
transport or connection they target, and an event for a window not open yet waits for it."""

from __future__ import annotations

import asyncio
from typing import Any

from auroraview import App, Commands, WebView
from auroraview.testing import TestClient

PAGE = """<!doctype html><meta charset="utf-8"><title>%s</title><p>%s</p><script>
const seen = [];
window.addEventListener("auroraviewready", () => {
  for (const name of ["to_all", "to_window", "to_transport", "early"]) {
    auroraview.on(name, (payload) => auroraview.call("seen", { label: "%s", event: name, payload }));
  }
  auroraview.call("page_ready", { label: "%s" });
});
</script>"""


def page(label: str) -> str:
    return PAGE % (label, label, label, label)


async def test_two_windows_share_one_router_and_events_reach_their_targets() -> None:
    commands = Commands()
    ready: asyncio.Queue[str] = asyncio.Queue()
    seen: list[tuple[str, str, Any]] = []

    @commands.command()
    async def page_ready(label: str) -> None:
        ready.put_nowait(label)

    @commands.command("seen")
    async def seen_event(label: str, event: str, payload: Any) -> None:
        seen.append((label, event, payload))
    app = App(commands)
    left = WebView("left", html=page("left"), label="left", app=app)
    right = WebView("right", html=page("right"), label="right", commands=commands)
    late = WebView("late", html=page("late"), label="late", commands=commands)
    assert left.app is right.app is late.app is app, "one registry, one app"

    # Held for a window that is not open yet: delivered when its page connects.
    assert app.emit("early", {"n": 0}, to=late) == 0
    tasks = [asyncio.ensure_future(v.run_async()) for v in (left, right)]
    assert {await asyncio.wait_for(ready.get(), 20) for _ in range(2)} == {"left", "right"}
    assert app.runtime is not None and app.loop is asyncio.get_running_loop()

    conns = {c["window"]: c for c in app.connections()}
    assert set(conns) == {"left", "right"}
    assert all(c["transport"] == "window" and c["origin"] == "auroraview://localhost" for c in conns.values())
    assert left.connection == conns["left"]["id"] and right.connection == conns["right"]["id"]

    async def expect(n: int) -> list[tuple[str, str, Any]]:
        for _ in range(400):
            if len(seen) >= n:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # nothing more should come
        got = sorted(seen)
        seen.clear()
        return got

    assert app.emit("to_all", 1) == 2
    assert await expect(2) == [("left", "to_all", 1), ("right", "to_all", 1)]
    right.emit("to_window", 2)
    assert await expect(1) == [("right", "to_window", 2)]
    assert app.emit("to_transport", 3, to=("transport", "window")) == 2
    assert await expect(2) == [("left", "to_transport", 3), ("right", "to_transport", 3)]
    assert app.emit("to_window", 4, to=conns["left"]["id"]) == 1
    assert await expect(1) == [("left", "to_window", 4)]

    # A test client joins the same router, on the same loop, beside the windows.
    async with TestClient(app) as client:
        assert client.connection in {c["id"] for c in app.connections()}
        assert app.emit("to_transport", 5, to=("transport", "in_process")) == 1
        assert (await client.wait_for_event("to_transport")).payload == 5
        assert await expect(0) == [], "the windows did not get the in-process event"

    late_task = asyncio.ensure_future(late.run_async())
    assert await asyncio.wait_for(ready.get(), 20) == "late"
    assert await expect(1) == [("late", "early", {"n": 0})]

    for view in (left, right, late):
        view.close()
    await asyncio.wait_for(asyncio.gather(*tasks, late_task), 10)
    assert app.connections() == [] and app.runtime is None
    assert app.stats()["held_dropped"] == 0


async def test_two_windows_with_one_label_are_refused() -> None:
    commands = Commands()
    first = WebView("a", html="<p>a</p>", label="same", commands=commands)
    second = WebView("b", html="<p>b</p>", label="same", commands=commands)
    task = asyncio.ensure_future(first.run_async())
    await first.wait_open()
    try:
        try:
            await second.run_async()
        except ValueError as exc:
            assert "labelled 'same'" in str(exc)
        else:
            raise AssertionError("a second window with the same label opened")
    finally:
        first.close()
        await asyncio.wait_for(task, 10)
