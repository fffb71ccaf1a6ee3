"""Single-page apps keep their routes in a real window (docs/windows.md): a navigation to a
path the `assets=` folder does not have and that names no file gets `index.html`; a missing
script and a `fetch` of a route stay 404."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from auroraview import Commands, WebView

PAGE = """<!doctype html><html><body><script>
(async () => {
  if (location.pathname === "/") { location.assign("/settings/profile?tab=2"); return; }
  const script = await new Promise((resolve) => {
    const s = document.createElement("script");
    s.src = "/js/missing.js";
    s.onload = () => resolve("loaded");
    s.onerror = () => resolve("error");
    document.head.appendChild(s);
  });
  const fetched = (await fetch("/settings/other")).status;
  const present = await (await fetch("/js/app.js")).text();
  await window.auroraview.call("report", { result: { path: location.pathname, search: location.search, script, fetched, present } });
})();
</script></body></html>"""


async def test_a_deep_link_opens_the_app_and_missing_files_stay_404(tmp_path: Path) -> None:
    commands = Commands()
    reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @commands.command()
    async def report(result: dict[str, Any]) -> None:
        reports.put_nowait(result)

    assets = tmp_path / "dist"
    (assets / "js").mkdir(parents=True)
    (assets / "index.html").write_text(PAGE)
    (assets / "js" / "app.js").write_text("// app")
    view = WebView(title="spa", assets=assets, commands=commands)
    run = asyncio.ensure_future(view.run_async())
    try:
        got = await asyncio.wait_for(reports.get(), 30)
    finally:
        view.close()
        await run
    assert got == {
        "path": "/settings/profile",
        "search": "?tab=2",
        "script": "error",
        "fetched": 404,
        "present": "// app",
    }
