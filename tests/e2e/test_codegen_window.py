"""Every corpus command called from the generated TypeScript, compiled with tsc and served
as an asset in a real window; every value must round-trip exactly."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auroraview import WebView

ROOT = Path(__file__).parents[2]
CORPUS = ROOT / "tests" / "codegen"
TSC = ROOT / "sdk-ts" / "node_modules" / ".bin" / "tsc"

INDEX = """<!doctype html><meta charset="utf-8"><title>corpus</title>
<script type="importmap">{"imports": {"@auroraview/sdk": "/sdk-ts/src/index.js"}}</script>
<script type="module" src="/tests/codegen/driver.js"></script>
<p>corpus round trip</p>"""


async def test_every_corpus_command_round_trips_from_generated_typescript(tmp_path: Path) -> None:
    if not TSC.exists():
        if os.environ.get("CI"):
            pytest.fail("sdk-ts/node_modules is missing: scripts/setup.sh installs typescript")
        pytest.skip("typescript is not installed")
    out = tmp_path / "site"
    proc = subprocess.run(
        [str(TSC), "-p", str(CORPUS / "tsconfig.e2e.json"), "--outDir", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (out / "index.html").write_text(INDEX)

    sys.path.insert(0, str(CORPUS))
    try:
        import corpus  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)

    view = WebView(title="corpus", assets=out, commands=corpus.commands)
    run = asyncio.ensure_future(view.run_async())
    await view.wait_open()
    state = None
    for _ in range(600):
        try:
            state = json.loads(await view.eval_js("JSON.stringify(window.__corpus ?? null)", timeout=2) or "null")
        except Exception:  # noqa: BLE001 - still loading
            state = None
        if state and state.get("done"):
            break
        await asyncio.sleep(0.05)
    view.close()
    await asyncio.wait_for(run, 10)

    assert state and state.get("done"), "the driver never finished"
    assert "error" not in state, state["error"]
    results = state["results"]
    failed = {name: r for name, r in results.items() if not r["ok"]}
    assert not failed, json.dumps(failed, indent=1)
    names = {c.name for c in corpus.commands}
    assert len(results) >= len(names), "every command is called at least once"
