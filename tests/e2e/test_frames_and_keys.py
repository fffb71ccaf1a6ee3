"""Frames inside an allowed page and the per-page key (RELIABILITY.md cases 17 and 18).

Two layers. Frames from another origin (including `srcdoc` and `data:` frames) never load:
every navigation, a subframe's too, must stay on the page's origin. Frames that do load
(same origin, or sandboxed into an opaque origin) can post to WebKit's `ipc` message
handler, and wry reports the main frame's URL for them, so the origin check alone would let
them through: the bridge therefore sends a key made in the page, announced by `hello` before
any page script runs, and the host refuses messages without it before routing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import http_server

from auroraview import Commands, WebView

# Runs in every frame: each way a frame could reach the host, then the outcome to the parent.
FRAME_SCRIPT = r"""
(() => {
  const tried = {};
  const call = (extra) => JSON.stringify(Object.assign({ type: "call", id: "frame-" + Math.random(), method: "spy" }, extra));
  const key = "0123456789abcdef0123456789abcdef";
  const handler = window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.ipc;
  tried.handler = Boolean(handler);
  const raw = (label, text) => { try { handler.postMessage(text); tried[label] = "posted"; } catch (e) { tried[label] = e.name; } };
  if (handler) {
    raw("noKey", call({}));
    raw("forgedKey", call({ key }));
    raw("hello", JSON.stringify({ type: "hello", key: "frame-key-aaaaaaaaaaaaaaaaaaaa" }));
    raw("ownKey", call({ key: "frame-key-aaaaaaaaaaaaaaaaaaaa" }));
    raw("event", JSON.stringify({ type: "event", event: "spy_event", detail: 1 }));
  }
  try { window.ipc.postMessage(call({})); tried.ipc = "posted"; } catch (e) { tried.ipc = e.name; }
  try { window.auroraview.call("spy"); tried.bridge = "called"; } catch (e) { tried.bridge = e.name; }
  if (FRAME_KIND !== "same-origin" && FRAME_KIND !== "srcdoc") {
    // A same-origin srcdoc frame shares the page's origin and may use the page's bridge like
    // any script of the page; every other frame is kept out of it by the browser.
    try { parent.auroraview.call("spy"); tried.parent = "called"; } catch (e) { tried.parent = e.name; }
  }
  parent.postMessage({ frame: FRAME_KIND, tried }, "*");
})();
"""


def frame_html(kind: str) -> str:
    return f"<!doctype html><script>const FRAME_KIND = {kind!r};{FRAME_SCRIPT}</script>"


# Served from the page's own origin: the query string names the frame.
SAME_ORIGIN_FRAME = f"<!doctype html><script>const FRAME_KIND = location.search.slice(1);{FRAME_SCRIPT}</script>"


PAGE = """<!doctype html><html><body><script>
const results = [];
window.addEventListener("message", (e) => {
  if (e.data && e.data.frame) results.push(e.data);
});
function frame(attrs) {
  const f = document.createElement("iframe");
  for (const [k, v] of Object.entries(attrs)) f.setAttribute(k, v);
  document.body.appendChild(f);
}
window.addEventListener("auroraviewready", async () => {
  frame({ src: "frame.html?same-origin" });
  frame({ src: "frame.html?sandboxed", sandbox: "allow-scripts" });
  frame({ srcdoc: SRCDOC });
  frame({ srcdoc: SANDBOXED, sandbox: "allow-scripts" });
  frame({ src: CROSS_ORIGIN });
  frame({ src: "data:text/html," + encodeURIComponent(DATA_URL) });
  const until = Date.now() + 10000;
  while (results.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500)); // time for any other frame to report too
  await auroraview.call("report", { results });
});
</script></body></html>"""


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "frame.html").write_text(frame_html("cross-origin"))
    with http_server(tmp_path / "other") as origin:
        yield origin


async def test_no_frame_reaches_a_handler_by_any_bridge_path(other_origin: str, tmp_path: Path) -> None:
    commands = Commands()
    spied: list[str] = []
    reports: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()

    @commands.command()
    async def spy() -> None:
        spied.append("spy")

    @commands.on("spy_event")
    def spy_event(detail: int) -> None:
        spied.append("spy_event")

    @commands.command()
    async def report(results: list[dict[str, Any]]) -> None:
        reports.put_nowait(results)

    def js(value: str) -> str:  # a string literal that cannot end the page's <script>
        return json.dumps(value).replace("</", "<\\/")

    page = (
        PAGE.replace("SRCDOC", js(frame_html("srcdoc")))
        .replace("SANDBOXED", js(frame_html("sandboxed-srcdoc")))
        .replace("CROSS_ORIGIN", js(f"{other_origin}/frame.html"))
        .replace("DATA_URL", js(frame_html("data-url")))
    )
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "index.html").write_text(page)
    (assets / "frame.html").write_text(SAME_ORIGIN_FRAME)
    # The page's CSP allows the foreign frames: what keeps them out is the navigation policy.
    csp = f"default-src 'self' auroraview: {other_origin} data:; script-src 'self' 'unsafe-inline' auroraview: {other_origin} data:"
    view = WebView(title="frames", assets=assets, commands=commands, csp=csp)
    run = asyncio.ensure_future(view.run_async())
    try:
        results = await asyncio.wait_for(reports.get(), 30)
        await asyncio.sleep(0.3)  # anything a frame sent has reached the host by now
        stats = view.stats()
    finally:
        view.close()
        await run

    by_frame = {r["frame"]: r["tried"] for r in results}
    # Foreign frames never ran a line; the two that loaded tried every path.
    assert set(by_frame) == {"same-origin", "sandboxed"}, results
    assert spied == [], f"a frame reached a handler: {spied} {results}"
    posted = 0
    for kind, tried in by_frame.items():
        # wry's `window.ipc` and the bridge are installed in the main frame only.
        assert tried["ipc"] == "TypeError" and tried["bridge"] == "TypeError", (kind, tried)
        if kind == "sandboxed":
            assert tried["parent"] == "SecurityError", (kind, tried)  # opaque origin
        assert tried["handler"], (kind, tried)
        posted += sum(tried[k] == "posted" for k in ("noKey", "forgedKey", "hello", "ownKey", "event"))
    # The frames' raw messages did reach the host (the message handler is open to frames)
    # and were refused there, by the key.
    assert posted == 10, results
    assert stats["refused_key"] == posted, (stats, results)
    assert stats["calls_accepted"] == 1  # the page's own `report`


async def test_the_key_is_not_observable_by_page_scripts() -> None:
    commands = Commands()
    reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @commands.command()
    async def add(a: int, b: int) -> int:
        return a + b

    @commands.command()
    async def report(data: dict[str, Any]) -> None:
        reports.put_nowait(data)

    # A page script hooks everything a message could pass through after the bridge started,
    # then makes calls and sends an event through the bridge.
    page = """<!doctype html><script>
    const seen = [], hooked = [];
    const keep = (label, fn) => { try { fn(); hooked.push(label); } catch (e) { hooked.push(label + ":" + e.name); } };
    keep("JSON.stringify", () => { const o = JSON.stringify; JSON.stringify = function (...a) { const s = o.apply(this, a); seen.push(String(s)); return s; }; });
    keep("handler.postMessage", () => {
      const h = window.webkit.messageHandlers.ipc, proto = Object.getPrototypeOf(h), o = proto.postMessage;
      proto.postMessage = function (m) { seen.push(String(m)); return o.call(this, m); };
    });
    keep("ipc.postMessage", () => { const o = window.ipc.postMessage; window.ipc.postMessage = (m) => { seen.push(String(m)); o(m); }; });
    keep("Object.prototype.toJSON", () => { Object.prototype.toJSON = function () { seen.push(Object.keys(this).join(",")); return this; }; });
    window.addEventListener("auroraviewready", async () => {
      const sum = await auroraview.call("add", { a: 2, b: 3 });
      auroraview.send_event("ping", { n: 1 });
      delete Object.prototype.toJSON;
      await auroraview.call("report", { data: { sum, leaked: seen.filter((s) => /key|[0-9a-f]{32}/.test(s)), hooked } });
    });
    </script>"""
    view = WebView(title="hooks", html=page, commands=commands)
    run = asyncio.ensure_future(view.run_async())
    try:
        data = await asyncio.wait_for(reports.get(), 20)
        stats = view.stats()
    finally:
        view.close()
        await run
    assert data["sum"] == 5
    assert "JSON.stringify" in data["hooked"] and "handler.postMessage" in data["hooked"], data
    assert data["leaked"] == [], data
    assert stats["refused_key"] == 0
