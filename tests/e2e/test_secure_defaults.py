"""RELIABILITY.md case 23: the secure defaults, read back from the real webview and matched
against a snapshot (tests/e2e/golden/secure_defaults.json; bless a deliberate change with
`AURORAVIEW_BLESS=1 pytest tests/e2e/test_secure_defaults.py`). The engine version is
logged with the first window: see test_window.py."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

from auroraview import WebView

GOLDEN = Path(__file__).parent / "golden" / "secure_defaults.json"


async def snapshot(**kwargs: Any) -> dict[str, Any]:
    view = WebView(title="defaults", **kwargs)
    run = asyncio.ensure_future(view.run_async())
    try:
        await view.wait_open()
        snap = view.security_snapshot()
    finally:
        view.close()
        await run
    assert re.fullmatch(r"\d+\.\d+\.\d+", snap.pop("webkit_version"))
    return snap


async def test_secure_defaults_match_the_snapshot() -> None:
    got = {
        "assets (default)": await snapshot(html="<p>x</p>"),
        "assets, debug=True": await snapshot(html="<p>x</p>", debug=True),
        # Nothing listens on port 9: url_wait=0 opens the window at once (no dev server to wait for).
        "dev-server url": await snapshot(url="http://127.0.0.1:9/", url_wait=0),
    }
    rendered = json.dumps(got, indent=2, sort_keys=True) + "\n"
    if os.environ.get("AURORAVIEW_BLESS"):
        GOLDEN.write_text(rendered)
    assert GOLDEN.read_text() == rendered, f"secure defaults changed; if deliberate, bless:\n{rendered}"
    # Spelled out, so the snapshot cannot drift into something unsafe unnoticed.
    default = got["assets (default)"]
    assert default["developer_extras"] is False and got["assets, debug=True"]["developer_extras"] is True
    assert default["served_by"] == "custom-protocol" and default["origin"] == "auroraview://localhost"
    assert not default["allow_file_access_from_file_urls"] and not default["allow_universal_access_from_file_urls"]
    assert not default["javascript_can_open_windows_automatically"]
    assert "object-src 'none'" in default["csp"] and "frame-ancestors 'none'" in default["csp"]
