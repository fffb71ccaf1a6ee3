"""`CallContext` for a call from a real window's page: the window's label and origin."""

from __future__ import annotations

import asyncio
from typing import Any

from auroraview import CallContext, Commands, WebView

PAGE = """<!doctype html><meta charset="utf-8"><script>
addEventListener("auroraviewready", async () => {
  await auroraview.call("report", {seen: await auroraview.call("whoami")});
});
</script>"""


async def test_a_page_call_carries_the_window_identity() -> None:
    commands = Commands()
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @commands.command()
    def whoami(ctx: CallContext) -> dict[str, Any]:
        return {"transport": ctx.transport, "window": ctx.window, "origin": ctx.origin, "method": ctx.method}

    @commands.command()
    async def report(seen: dict[str, Any]) -> None:
        got.put_nowait(seen)

    view = WebView("ctx", html=PAGE, commands=commands, label="inspector")
    task = asyncio.ensure_future(view.run_async())
    try:
        seen = await asyncio.wait_for(got.get(), 20)
        assert seen == {"transport": "window", "window": "inspector", "origin": "auroraview://localhost", "method": "whoami"}
    finally:
        view.close()
        await asyncio.wait_for(task, 10)
