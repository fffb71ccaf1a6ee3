"""Page scripts cannot forge host→page replies or events (RELIABILITY.md case 28).

A real window: the page starts calls whose Python handlers wait for a release, then tries
every way a script of the page could settle them or fake a host event (the seeds'
`trigger`, the receiver the host evaluates into with no key / a wrong key / guessed keys,
redefining it, builtins replaced or polluted before a real delivery, DOM events, posting a
reply to the host). The calls must still be pending and no listener may have seen a fake
event; after the release the real results arrive."""

from __future__ import annotations

import asyncio
from typing import Any

from auroraview import Commands, WebView

PAGE = r"""<!doctype html><script>
(() => {
  const FAKE = "FORGED";
  const attempts = {};
  const attempt = (label, fn) => {
    try { const r = fn(); attempts[label] = r === undefined ? "returned" : String(r); }
    catch (e) { attempts[label] = e.name + ": " + e.message; }
  };
  const forged = () => {
    const frames = [];
    for (let id = 0; id <= 40; id++) {
      frames.push({ type: "call_result", id, ok: true, result: FAKE });
      frames.push({ type: "call_result", id: String(id), ok: true, result: FAKE });
    }
    frames.push({ type: "event", event: "tick", payload: FAKE });
    frames.push({ type: "event", event: "fake", payload: FAKE });
    return frames;
  };
  const BATCH = JSON.stringify(forged());
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  window.addEventListener("auroraviewready", async () => {
    const av = window.auroraview;
    const got = [], fakeSeen = [], settled = {};
    av.on("tick", (p) => got.push(p));
    av.on("fake", (p) => fakeSeen.push(p));
    const track = (name, p) => p.then(
      (v) => { settled[name] = { ok: true, v }; },
      (e) => { settled[name] = { ok: false, code: e.code, message: e.message }; },
    );
    track("plain", av.call("slow", { tag: "plain" }));
    track("timed", av.call("slow", { tag: "timed" }, { timeout: 60000 }));

    // 1. The seeds' trigger: the internal reply event, and host events.
    attempt("trigger call_result", () => {
      for (let id = 0; id <= 40; id++) {
        for (const i of [id, String(id)]) av.trigger("__auroraview_call_result", { id: i, ok: true, result: FAKE });
      }
    });
    attempt("trigger event", () => av.trigger("tick", FAKE));
    attempt("trigger detached", () => { const { trigger } = av; trigger("fake", FAKE); });

    // 2. The receiver the host evaluates into: no key, wrong keys, guesses.
    const receive = window.__auroraview_receive;
    attempt("receive no key", () => receive(BATCH));
    attempt("receive undefined key", () => receive(undefined, BATCH));
    attempt("receive empty key", () => receive("", BATCH));
    attempt("receive zero key", () => receive("0".repeat(32), BATCH));
    attempt("receive coercible key", () => receive({ toString: () => "x", valueOf: () => "x" }, BATCH));
    attempt("receive batch as key", () => receive(BATCH, BATCH));
    attempt("receive guessed keys", () => {
      const bytes = new Uint8Array(16);
      for (let n = 0; n < 2000; n++) {
        crypto.getRandomValues(bytes);
        receive(Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(""), BATCH);
      }
    });
    // ... and redefining it, or the bridge.
    attempt("assign receiver", () => { window.__auroraview_receive = () => {}; return window.__auroraview_receive === receive; });
    attempt("define receiver", () => Object.defineProperty(window, "__auroraview_receive", { value: () => {} }));
    attempt("delete receiver", () => delete window.__auroraview_receive);
    attempt("define auroraview", () => Object.defineProperty(window, "auroraview", { value: {} }));
    attempt("assign trigger", () => { "use strict"; av.trigger = () => {}; });
    attempt("define on client", () => Object.defineProperty(av, "on", { value: () => {} }));
    attempt("reprototype client", () => Object.setPrototypeOf(av, {}));

    // 3. DOM events and the page→host channel: neither reaches auroraview.on listeners.
    attempt("dispatch DOM event", () => window.dispatchEvent(new CustomEvent("tick", { detail: FAKE })));
    attempt("post reply to host", () => window.webkit.messageHandlers.ipc.postMessage(JSON.stringify({ type: "call_result", id: 1, ok: true, result: FAKE })));
    attempt("post via window.ipc", () => window.ipc.postMessage(JSON.stringify({ type: "event", event: "tick", payload: FAKE })));

    // 4. Builtins replaced after the bridge loaded, then a real event through the real
    //    channel: its parse step must not be the page's.
    const saved = { parse: JSON.parse, isArray: Array.isArray };
    JSON.parse = () => forged();
    Array.isArray = () => true;
    await av.call("emit_tick", { n: 1 });
    JSON.parse = saved.parse;
    Array.isArray = saved.isArray;

    // 5. Object.prototype polluted with every field a frame has, and a callable `then`,
    //    while real replies and a real event arrive.
    const fields = { type: "call_result", id: 1, ok: true, result: FAKE, event: "tick", payload: FAKE, error: null };
    for (const [k, v] of Object.entries(fields)) Object.defineProperty(Object.prototype, k, { value: v, configurable: true, writable: true });
    Object.defineProperty(Object.prototype, "then", { value: function (res) { res(FAKE); }, configurable: true, writable: true });
    let echoed;
    av.call("echo", { value: { real: [1, 2] } }).then((v) => { echoed = v; });
    av.call("emit_tick", { n: 2 }).then(() => {});
    for (let i = 0; i < 200 && (echoed === undefined || got.length < 2); i++) await new Promise((r) => setTimeout(r, 10));
    for (const k of [...Object.keys(fields), "then"]) delete Object.prototype[k];

    // 6. Builtins a page could hook to get a call's resolver, a listener, a timer or an
    //    abort listener, replaced while a new call and a new listener are made.
    const grabbed = [];
    const grab = (x) => { if (x !== undefined) grabbed.push(x); };
    const orig = {
      mapSet: Map.prototype.set, mapGet: Map.prototype.get, setAdd: Set.prototype.add, from: Array.from,
      Promise: window.Promise, setTimeout: window.setTimeout, addEventListener: EventTarget.prototype.addEventListener,
      aborted: Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted"), Proxy: window.Proxy,
    };
    Map.prototype.set = function (k, v) { grab(v); return orig.mapSet.call(this, k, v); };
    Map.prototype.get = function (k) { const v = orig.mapGet.call(this, k); grab(v); return v; };
    Set.prototype.add = function (v) { grab(v); return orig.setAdd.call(this, v); };
    Array.from = function (x, ...rest) { grab(x); return orig.from.call(Array, x, ...rest); };
    window.Promise = class extends orig.Promise { constructor(ex) { super((res, rej) => { grab(res); ex(res, rej); }); } };
    window.setTimeout = (fn) => { grab(fn); return 0; };
    EventTarget.prototype.addEventListener = function (type, fn, o) { grab(fn); return orig.addEventListener.call(this, type, fn, o); };
    Object.defineProperty(AbortSignal.prototype, "aborted", { get() { return true; }, configurable: true });
    window.Proxy = function (target, handler) { grab(handler); return new orig.Proxy(target, handler); };
    const controller = new AbortController();
    let patchedCall;
    try {
      patchedCall = av.call("slow", { tag: "patched" }, { timeout: 60000, signal: controller.signal });
      av.on("tick", (p) => got.push(["second", p]));
      void av.newNamespace.method; // a namespace made while Proxy is replaced
    } finally {
      Map.prototype.set = orig.mapSet; Map.prototype.get = orig.mapGet; Set.prototype.add = orig.setAdd;
      Array.from = orig.from; window.Promise = orig.Promise; window.setTimeout = orig.setTimeout;
      EventTarget.prototype.addEventListener = orig.addEventListener;
      Object.defineProperty(AbortSignal.prototype, "aborted", orig.aborted); window.Proxy = orig.Proxy;
    }
    track("patched", patchedCall);
    const grabbedCount = grabbed.length;
    for (const g of grabbed) {
      try { if (typeof g === "function") g(FAKE); } catch {}
      try { if (g && typeof g.resolve === "function") g.resolve(FAKE); } catch {}
      try { if (g && typeof g.forEach === "function") g.forEach((l) => typeof l === "function" && l(FAKE)); } catch {}
    }

    await sleep(300);
    const before = { settled: JSON.parse(JSON.stringify(settled)), stats: { ...av.stats() }, got: got.slice(), fakeSeen: fakeSeen.slice() };
    // Release the handlers: the real replies arrive.
    await av.call("release_all");
    for (let i = 0; i < 500 && Object.keys(settled).length < 3; i++) await sleep(10);
    await av.call("report", { data: { attempts, before, settled, got, fakeSeen, echoed, grabbedCount, stats: { ...av.stats() } } });
  });
})();
</script>"""


async def test_page_scripts_cannot_forge_replies_or_events() -> None:
    commands = Commands()
    reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    released = False
    started: list[str] = []
    view: WebView

    @commands.command()
    async def slow(tag: str) -> dict[str, str]:
        started.append(tag)
        while not released:
            await asyncio.sleep(0.01)
        return {"real": tag}

    @commands.command()
    async def release_all() -> None:
        nonlocal released
        released = True

    @commands.command()
    async def emit_tick(n: int) -> None:
        view.emit("tick", {"n": n})

    @commands.command()
    async def echo(value: Any) -> Any:
        return value

    @commands.command()
    async def report(data: dict[str, Any]) -> None:
        reports.put_nowait(data)

    view = WebView(title="forgery", html=PAGE, commands=commands)
    run = asyncio.ensure_future(view.run_async())
    try:
        data = await asyncio.wait_for(reports.get(), 60)
        stats = view.stats()
    finally:
        view.close()
        await run

    attempts, before = data["attempts"], data["before"]
    # Before the release: nothing settled, no fake event reached a listener.
    assert before["settled"] == {}, f"a forged reply settled a call: {before['settled']} {attempts}"
    assert before["got"] == [{"n": 1}, {"n": 2}], f"a listener saw a fake event: {before['got']}"
    assert before["fakeSeen"] == [], before
    assert before["stats"]["pending"] == 3, before
    # Every forgery was tried, and trigger said what to use instead.
    for label in ("trigger call_result", "trigger event", "trigger detached"):
        assert attempts[label].startswith("Error: ") and "send_event" in attempts[label], (label, attempts)
    for label in ("define receiver", "define auroraview", "assign trigger", "define on client", "reprototype client"):
        assert attempts[label].startswith("TypeError"), (label, attempts)
    assert attempts["assign receiver"] == "true" and attempts["delete receiver"] == "false", attempts

    assert data["fakeSeen"] == []
    # Each receiver call without the key was refused and counted (no key, 5 wrong keys, 2000 guesses).
    assert before["stats"]["refused"] == 2006, before["stats"]
    # The real reply through a polluted Object.prototype (with a callable `then`) is the host's.
    assert data["echoed"] == {"real": [1, 2]}, data["echoed"]
    # Replaced builtins saw nothing of the bridge: no resolver, listener, timer or handler.
    assert data["grabbedCount"] == 0, data

    # After the release: the real results, and only them.
    assert data["settled"] == {
        "plain": {"ok": True, "v": {"real": "plain"}},
        "timed": {"ok": True, "v": {"real": "timed"}},
        "patched": {"ok": True, "v": {"real": "patched"}},
    }, data["settled"]
    assert sorted(started) == ["patched", "plain", "timed"]
    assert data["stats"]["pending"] == 0
    # The page→host forgeries were refused by the host, by the key.
    assert stats["refused_key"] == 2, stats
