"""Pages from a dev-server URL, the seeds' `AuroraView(url=..., api=obj)`, and pages that
must not reach IPC (RELIABILITY.md cases 16 and 20, in part)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import http_server

from auroraview import AuroraView, Commands, WebView

PAGE = """<!doctype html><title>dev</title><script>
  window.addEventListener('auroraviewready', async () => {
    const data = await auroraview.api.get_data();
    await auroraview.call('api.report', { origin: location.origin, items: data.items });
  });
</script>"""


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text(PAGE)
    with http_server(tmp_path) as origin:
        yield origin + "/"


async def test_auroraview_with_api_on_a_dev_server_url(dev_server: str) -> None:
    reports: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    class Api:
        def get_data(self) -> dict[str, list[int]]:
            return {"items": [1, 2, 3]}

        async def report(self, origin: str, items: list[int]) -> None:
            reports.put_nowait({"origin": origin, "items": items})

    view = AuroraView(url=dev_server, api=Api(), title="dev")
    run = asyncio.ensure_future(view.run_async())
    got = await asyncio.wait_for(reports.get(), 20)
    assert got == {"origin": dev_server.rstrip("/"), "items": [1, 2, 3]}
    view.close()
    await asyncio.wait_for(run, 10)


async def test_navigation_to_another_origin_is_blocked_and_reaches_no_handler(dev_server: str) -> None:
    commands = Commands()
    calls: list[str] = []

    @commands.command()
    async def touch(where: str) -> None:
        calls.append(where)

    page = """<script>
      window.addEventListener('auroraviewready', () => auroraview.call('touch', {where: location.href}));
    </script>"""
    view = WebView(title="nav", html=page, commands=commands)
    run = asyncio.ensure_future(view.run_async())
    for _ in range(400):
        if calls:
            break
        await asyncio.sleep(0.01)
    assert calls == ["auroraview://localhost/"]
    for target in (dev_server, "data:text/html,<script>auroraview.call('touch',{where:'data'})</script>", "about:blank"):
        await view.eval_js(f"location.href = {target!r}; 0")
        await asyncio.sleep(0.5)
        assert await view.eval_js("location.href") == "auroraview://localhost/", target
    await view.eval_js("window.open('https://example.com/', '_blank'); 0")
    await asyncio.sleep(0.3)
    assert calls == ["auroraview://localhost/"]
    view.close()
    await asyncio.wait_for(run, 10)


async def test_a_page_reached_by_going_back_can_call_again(tmp_path: Path) -> None:
    """Back to a page: it must get a working connection again (WebKit's back-forward cache
    would restore the old document, whose bridge the host no longer knows)."""
    (tmp_path / "index.html").write_text(
        """<!doctype html><script>
        const report = (tag) => auroraview.call("report", { tag });
        window.addEventListener("pageshow", (e) => { if (e.persisted) report("a-restored"); });
        window.addEventListener("auroraviewready", async () => {
          if (sessionStorage.getItem("seen")) { await report("a-again"); return; }
          sessionStorage.setItem("seen", "1");
          await report("a");
          location.href = "b.html";
        });
        </script>"""
    )
    (tmp_path / "b.html").write_text(
        """<!doctype html><script>
        window.addEventListener("auroraviewready", async () => {
          await auroraview.call("report", { tag: "b" });
          history.back();
        });
        </script>"""
    )
    commands = Commands()
    tags: asyncio.Queue[str] = asyncio.Queue()

    @commands.command()
    async def report(tag: str) -> None:
        tags.put_nowait(tag)

    view = WebView(title="back", assets=tmp_path, commands=commands)
    run = asyncio.ensure_future(view.run_async())
    try:
        got = [await asyncio.wait_for(tags.get(), 15) for _ in range(3)]
    finally:
        view.close()
        await run
    assert got == ["a", "b", "a-again"]
