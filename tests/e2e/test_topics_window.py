"""Topics from a real window's page (docs/topics.md): the page subscribes through the injected
client and gets every message Python publishes, in order, once; it publishes (validated,
refused by rules) and Python's own subscriber hears it; a reload starts afresh."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from auroraview import Commands, Rule, WebView

PAGE = """<!doctype html><meta charset="utf-8"><script>
addEventListener("auroraviewready", async () => {
  const got = [];
  const sub = auroraview.subscribe("scene/updates", (data) => {
    got.push(data.n);
    if (data.n === -1) auroraview.call("report", {what: "got", value: got.slice(0, -1)});
  });
  const first = await sub.ready;
  const published = await auroraview.publish("chat", {text: "from the page"});
  let refused = null, invalid = null, unknown = null;
  try { await auroraview.publish("scene/updates", {n: 1}); } catch (e) { refused = e.code; }
  try { await auroraview.publish("chat", {text: 5}); } catch (e) { invalid = e.code; }
  try { await auroraview.subscribe("nope", () => {}).ready; } catch (e) { unknown = e.code; }
  await auroraview.call("report", {what: "ready", value: {first, published, refused, invalid, unknown}});
});
</script>"""


class Chat(BaseModel):
    text: str


class Update(BaseModel):
    n: int


async def test_a_page_subscribes_and_publishes_in_order_with_rules_and_validation() -> None:
    commands = Commands()
    commands.topic("scene/updates", Update)  # only the app publishes
    commands.topic("chat", Chat, publish=Rule(transports=("window",)))
    reports: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    heard: list[Chat] = []

    @commands.command()
    async def report(what: str, value: Any) -> None:
        reports.put_nowait((what, value))

    view = WebView("topics", html=PAGE, commands=commands, label="main")
    view.app.subscribe("chat", heard.append)
    task = asyncio.ensure_future(view.run_async())
    try:
        what, ready = await asyncio.wait_for(reports.get(), 20)
        assert what == "ready"
        assert ready["first"]["offset"] == 0 and len(ready["first"]["epoch"]) == 16
        assert ready["published"]["offset"] == 1
        assert (ready["refused"], ready["invalid"], ready["unknown"]) == ("forbidden", "invalid_params", "unknown_topic")
        assert [p["id"] for p in view.app.presence("scene/updates")] == [c["id"] for c in view.app.connections()]
        for i in range(5000):
            view.app.publish("scene/updates", Update(n=i))
        view.app.publish("scene/updates", Update(n=-1))
        what, got = await asyncio.wait_for(reports.get(), 30)
        assert what == "got"
        assert got == list(range(5000)), "every message, in order, once"
        assert [c.text for c in heard] == ["from the page"]
        # A reload is a new document: its old subscription is gone with its connection.
        view.reload()
        what, again = await asyncio.wait_for(reports.get(), 20)
        assert what == "ready" and again["first"]["offset"] == 5001
        assert len(view.app.presence("scene/updates")) == 1
    finally:
        view.close()
        await asyncio.wait_for(task, 10)
