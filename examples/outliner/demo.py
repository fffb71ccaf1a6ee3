"""`make demo`: open the outliner.

With a display, the window opens for you to use. Without one (CI, a server), it runs under
a private Xvfb, drives the page through a scripted interaction, saves a screenshot and
prints where. `--scripted` forces the scripted run even with a display.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import app
from app import Selection, create_app

from auroraview import JavaScriptError, PageNavigated, WebView
from auroraview._xvfb import VirtualDisplay, png_is_blank, screenshot

OUT = Path(__file__).resolve().parents[2] / "build" / "demo" / "outliner.png"


async def page(view: WebView, js: str) -> Any:
    return await view.eval_js(js)


async def wait_for(view: WebView, js: str, timeout: float = 20.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        try:
            value = await view.eval_js(js, timeout=2)
        except (PageNavigated, JavaScriptError, TimeoutError):
            value = None  # asked while the page was still loading (its elements not there yet)
        if value:
            return value
        await asyncio.sleep(0.05)
    raise TimeoutError(f"page never satisfied: {js}")


async def scripted(out: Path) -> Path:
    view = create_app()
    ids = {node.name: node.id for node in app.scene.walk()}
    run = asyncio.ensure_future(view.run_async())
    try:
        await view.wait_open()
        await wait_for(view, "document.getElementById('status').textContent === 'connected'")
        print(f"page connected: {await page(view, 'document.getElementById(`count`).textContent')}")

        async def rename(node: str, name: str) -> str:
            await page(view, f"document.querySelector('.row[data-id=\"{ids[node]}\"]').click(); 0")
            await page(view, f"document.getElementById('name').value = {json.dumps(name)}; 0")
            await page(view, "document.getElementById('rename').requestSubmit(); 0")
            await asyncio.sleep(0.3)
            error = await page(view, "document.getElementById('error').textContent")
            return error or await page(view, "document.getElementById('status').textContent")

        print(f"rename hero → '2bad':      {await rename('hero', '2bad')}")
        print(f"rename hero → 'sidekick':  {await rename('hero', 'sidekick')}")
        print(f"rename hero → 'hero_main': {await rename('hero', 'hero_main')}")
        await page(view, f"document.querySelector('.row[data-id=\"{ids['chair_02']}\"]').click(); 0")
        await page(view, "document.getElementById('do-delete').click(); 0")
        await asyncio.sleep(0.3)
        print(f"delete chair_02:           {await page(view, 'document.getElementById(`status`).textContent')}")
        view.emit("selection_changed", Selection(ids=[ids["key_light"], ids["fill_light"]], source="host"))
        await asyncio.sleep(0.3)
        selected = await page(
            view, "[...document.querySelectorAll('.row.selected')].map(r => r.lastChild.textContent).join(', ')"
        )
        print(f"host selects two lights:   page highlights {selected}")
        # The last rename error stays on screen for the screenshot.
        await rename("sidekick", "key_light")
        await asyncio.sleep(0.3)
        out.parent.mkdir(parents=True, exist_ok=True)
        shot = screenshot(out)
        if png_is_blank(shot):
            raise RuntimeError("the screenshot is blank")
        return shot
    finally:
        view.close()
        await run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scripted", action="store_true", help="run the scripted interaction even with a display")
    ap.add_argument("--out", type=Path, default=OUT, help=f"screenshot path (default: {OUT})")
    args = ap.parse_args()
    if os.environ.get("DISPLAY") and not args.scripted:
        create_app().show()
        return
    with VirtualDisplay(width=1000, height=700):
        shot = asyncio.run(scripted(args.out))
    print(f"screenshot: {shot}")


if __name__ == "__main__":
    main()
