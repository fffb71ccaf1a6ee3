"""The examples, run for real: the outliner demo (its own Xvfb, scripted, screenshot) and
the hello page in a window."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from auroraview._xvfb import png_is_blank

ROOT = Path(__file__).parents[2]


def test_outliner_demo_runs_scripted_and_saves_a_screenshot(tmp_path: Path) -> None:
    out = tmp_path / "outliner.png"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "outliner" / "demo.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout
    assert "page connected: 14 objects" in lines
    assert "ValidationError: new_name: String should match pattern" in lines
    assert "NameTaken: 'sidekick' is already used" in lines
    assert "renamed to hero_main" in lines
    assert "deleted 1 object(s)" in lines
    assert "page highlights key_light, fill_light" in lines
    assert f"screenshot: {out}" in lines
    assert out.exists() and not png_is_blank(out)


async def test_hello_page_calls_errors_and_events() -> None:
    sys.path.insert(0, str(ROOT / "examples" / "hello"))
    try:
        from main import create_window  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    view = create_window()
    run = asyncio.ensure_future(view.run_async())
    await view.wait_open()

    async def text(element: str) -> str:
        for _ in range(200):
            try:
                value = await view.eval_js(f"document.getElementById('{element}').textContent", timeout=2)
            except Exception:  # noqa: BLE001 - still loading
                value = None
            if value and value not in ("…", "none yet"):
                return str(value)
            await asyncio.sleep(0.05)
        raise AssertionError(f"#{element} never filled")

    assert (await text("greeting")).startswith("Hello, Ada!")
    assert await text("events") == "export_done → /tmp/scene.fbx"
    await view.eval_js("document.getElementById('name').value = ''; document.getElementById('form').requestSubmit(); 0")
    assert (await text("error")).startswith("ValidationError [invalid_params]: invalid params for 'greet'")
    view.close()
    await asyncio.wait_for(run, 10)
