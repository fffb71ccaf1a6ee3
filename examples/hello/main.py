"""Open the hello app in a window: `python examples/hello/main.py` (needs a display).

`--self-test` opens the window, waits until the page has greeted through Python and got the
`export_done` event back, prints both and exits (status 1 if that did not happen in 60 s):
how tests/e2e/test_pyinstaller.py proves the app bundled by PyInstaller works."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from app import commands

from auroraview import WebView

# Next to this file, from source and in a PyInstaller bundle alike: there `__file__` is in
# the bundle's folder, where `--add-data examples/hello/ui:ui` puts the page.
UI = Path(__file__).parent / "ui"


def create_window() -> WebView:
    return WebView(title="hello", assets=UI, commands=commands, width=640, height=360)


async def self_test() -> int:
    view = create_window()
    run = asyncio.ensure_future(view.run_async())
    await view.wait_open()
    found: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while len(found) < 2 and loop.time() < deadline:
        for element in ("greeting", "events"):
            try:  # the page's text, filled in from what Python answered and emitted
                value = await view.eval_js(f"document.getElementById('{element}').textContent", timeout=5)
            except Exception:  # noqa: BLE001 - the page is still loading
                value = None
            if isinstance(value, str) and value not in ("…", "none yet"):
                found[element] = value
        await asyncio.sleep(0.05)
    view.close()
    await asyncio.wait_for(run, 10)
    for element in ("greeting", "events"):
        print(f"self-test: #{element} = {found.get(element, '(never filled)')}", flush=True)
    return 0 if len(found) == 2 else 1


if __name__ == "__main__":
    if "--self-test" in sys.argv[1:]:
        sys.exit(asyncio.run(self_test()))
    create_window().show()
