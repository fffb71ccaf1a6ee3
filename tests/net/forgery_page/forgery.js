// A page script that tries every way it has to forge the server's replies and events to the
// network client (/__auroraview/client.js), RELIABILITY.md case 28. Driven by
// tests/net/forgery.test.mjs, which reads `window.__forgery` when `done` is true.
//
// Calls to `slow` wait in Python until `release`. Meanwhile this script: calls `trigger`;
// gets hold of the client's socket (WebSocket.prototype hooks) and dispatches made-up
// MessageEvents on it, calls its handler with them, with a trusted one from a socket of its
// own, and with the getters of `target`/`data` replaced; sends frames with the pending calls'
// ids on the client's socket (calls the server answers at once with an error); replaces
// builtins (JSON.parse, Array.isArray, the MessageEvent `data` getter) and pollutes
// Object.prototype while real frames arrive; and replaces the builtins through which a
// resolver, listener, timer or handler could be seen. Then it releases the calls.
(() => {
  "use strict";
  const FAKE = "FORGED";
  const R = (window.__forgery = { attempts: {}, done: false, error: null });
  const attempt = (label, fn) => {
    try {
      const r = fn();
      R.attempts[label] = r === undefined ? "returned" : String(r);
    } catch (e) {
      R.attempts[label] = `${e && e.name}: ${e && e.message}`;
    }
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const within = (p, ms) => Promise.race([p.then(() => "fulfilled", (e) => `rejected: ${e && e.code}`), sleep(ms).then(() => "timed out")]);
  const savedParse = JSON.parse;
  const savedStringify = JSON.stringify;

  // ── Hooks on the socket's prototype, installed once the client loaded: whatever `this`
  // ── they see is the client's socket, and what it sends holds the calls' ids.
  const sockets = [];
  const sent = [];
  const seeSocket = (ws) => {
    if (!sockets.includes(ws)) sockets.push(ws);
  };
  const WS = WebSocket.prototype;
  const orig = {
    send: WS.send,
    close: WS.close,
    readyState: Object.getOwnPropertyDescriptor(WS, "readyState"),
    onmessage: Object.getOwnPropertyDescriptor(WS, "onmessage"),
    target: Object.getOwnPropertyDescriptor(Event.prototype, "target"),
    data: Object.getOwnPropertyDescriptor(MessageEvent.prototype, "data"),
    addEventListener: EventTarget.prototype.addEventListener,
    dispatchEvent: EventTarget.prototype.dispatchEvent,
    isArray: Array.isArray,
  };
  WS.send = function (data) {
    seeSocket(this);
    sent.push(String(data));
    return orig.send.call(this, data);
  };
  WS.close = function (...args) {
    seeSocket(this);
    return orig.close.apply(this, args);
  };
  Object.defineProperty(WS, "readyState", {
    get() {
      seeSocket(this);
      return orig.readyState.get.call(this);
    },
    configurable: true,
  });
  const handlers = [];
  Object.defineProperty(WS, "onmessage", {
    get() {
      seeSocket(this);
      return orig.onmessage.get.call(this);
    },
    set(fn) {
      seeSocket(this);
      if (typeof fn === "function") handlers.push(fn);
      orig.onmessage.set.call(this, fn);
    },
    configurable: true,
  });

  /** The ids of the calls the hooks saw go out; else the client's first two (it counts from 1). */
  const callIds = () => {
    const ids = [];
    for (const text of sent) {
      try {
        const m = savedParse(text);
        if (m && m.type === "call") ids.push(m.id);
      } catch {}
    }
    return ids.length > 0 ? ids : [1, 2];
  };
  /** Every reply and event a page script would like to see delivered. */
  const forgedFrames = () => {
    const frames = [];
    const ids = callIds();
    for (let id = 0; id <= 40; id++) if (!ids.includes(id)) ids.push(id);
    for (const id of ids) {
      frames.push({ type: "call_result", id, ok: true, result: FAKE });
      frames.push({ type: "call_result", id: String(id), ok: true, result: FAKE });
    }
    frames.push({ type: "event", event: "tick", payload: FAKE });
    frames.push({ type: "event", event: "fake", payload: FAKE });
    return frames;
  };

  window.addEventListener("auroraviewready", async () => {
    try {
      await run();
    } catch (e) {
      R.error = String(e && e.stack ? e.stack : e);
    } finally {
      R.done = true;
      document.getElementById("status").textContent = "done";
    }
  });

  async function run() {
    const av = window.auroraview;
    const got = [];
    const fakeSeen = [];
    const settled = {};
    av.on("tick", (p) => got.push(p));
    av.on("fake", (p) => fakeSeen.push(p));
    const track = (name, p) => {
      p.then(
        (v) => (settled[name] = { ok: true, v }),
        (e) => (settled[name] = { ok: false, code: e && e.code, message: e && e.message }),
      );
      return p;
    };
    track("plain", av.call("slow", { tag: "plain" }));
    track("timed", av.call("slow", { tag: "timed" }, { timeout: 60000 }));
    await sleep(100); // both reached the server (and the hooks saw them go)
    R.callIds = callIds();
    R.sentSeen = sent.length;
    R.socketsSeen = sockets.length;

    // 1. The seeds' trigger: the internal reply event, and host events.
    attempt("trigger call_result", () => {
      for (const f of forgedFrames()) {
        if (f.type === "call_result") av.trigger("__auroraview_call_result", { id: f.id, ok: true, result: FAKE });
      }
    });
    attempt("trigger event", () => av.trigger("tick", FAKE));
    attempt("trigger detached", () => {
      const { trigger } = av;
      trigger("fake", FAKE);
    });
    attempt("trigger via prototype", () => Object.getPrototypeOf(av).trigger?.("tick", FAKE));
    attempt("assign trigger", () => {
      av.trigger = () => {};
    });
    attempt("redefine auroraview", () => Object.defineProperty(window, "auroraview", { value: {} }));

    // 2. Made-up MessageEvents on the client's socket (got from the hooks above).
    const forged = forgedFrames().map((f) => savedStringify(f));
    attempt("dispatch on the client's socket", () => {
      if (sockets.length === 0) return "no socket";
      for (const ws of sockets) for (const data of forged) ws.dispatchEvent(new MessageEvent("message", { data }));
    });
    attempt("call the socket's handler", () => {
      const fns = [...handlers, ...sockets.map((ws) => orig.onmessage.get.call(ws))].filter((f) => typeof f === "function");
      if (fns.length === 0) return "no handler";
      for (const fn of fns) {
        for (const data of forged) {
          fn({ data, isTrusted: true, target: sockets[0] });
          fn(new MessageEvent("message", { data }));
        }
      }
    });
    attempt("target getter replaced", () => {
      if (sockets.length === 0) return "no socket";
      const ws = sockets[0];
      Object.defineProperty(Event.prototype, "target", { get: () => ws, configurable: true });
      try {
        const fn = orig.onmessage.get.call(ws);
        for (const data of forged) {
          ws.dispatchEvent(new MessageEvent("message", { data }));
          if (typeof fn === "function") fn(new MessageEvent("message", { data }));
        }
      } finally {
        Object.defineProperty(Event.prototype, "target", orig.target);
      }
    });
    attempt("listener added on the socket", () => {
      // A listener of the page's own on the client's socket, then a dispatch: only the page's
      // listener may see it.
      if (sockets.length === 0) return "no socket";
      let seen = 0;
      orig.addEventListener.call(sockets[0], "message", () => seen++);
      orig.dispatchEvent.call(sockets[0], new MessageEvent("message", { data: forged[0] }));
      return `own listener saw ${seen}`;
    });

    // 3. A trusted MessageEvent from a socket of the page's own (same origin: the cookie
    //    authenticates it), whose frame the server made to look like the reply to a pending
    //    call (`echo` with the pending id), handed to the client's handler.
    R.ownSocket = await new Promise((resolve) => {
      const ids = callIds();
      const trusted = [];
      const own = new WebSocket(`ws://${location.host}/__auroraview/ws`, ["auroraview"]);
      const timer = setTimeout(() => resolve({ opened: false, trusted: 0 }), 3000);
      orig.addEventListener.call(own, "message", (e) => {
        const frame = savedParse(orig.data.get.call(e));
        if (frame.type === "welcome") {
          for (const id of ids) {
            const value = { type: "call_result", id, ok: true, result: FAKE };
            orig.send.call(own, savedStringify({ type: "call", id, method: "echo", params: { value } }));
          }
          orig.send.call(own, savedStringify({ type: "call", id: "evt", method: "echo", params: { value: { type: "event", event: "tick", payload: FAKE } } }));
        } else if (frame.type === "call_result" && frame.ok) {
          trusted.push(e);
          if (trusted.length === ids.length + 1) {
            clearTimeout(timer);
            const fns = [...handlers, ...sockets.map((ws) => orig.onmessage.get.call(ws))].filter((f) => typeof f === "function");
            // The inner frame as the handler would parse it: a page can't unwrap a trusted
            // event, but it can hand the handler the event as it came, and the echo's `result`
            // is exactly the frame it wants seen (as the whole message, were `data` hooked).
            Object.defineProperty(MessageEvent.prototype, "data", {
              get() {
                const text = orig.data.get.call(this);
                const m = savedParse(text);
                return m && m.type === "call_result" && m.ok && m.result && m.result.type ? savedStringify(m.result) : text;
              },
              configurable: true,
            });
            try {
              for (const fn of fns) for (const t of trusted) fn(t);
            } finally {
              Object.defineProperty(MessageEvent.prototype, "data", orig.data);
            }
            orig.close.call(own);
            resolve({ opened: true, trusted: trusted.length, handlers: fns.length });
          }
        }
      });
    });

    // 4. Frames with the pending calls' ids, sent on the client's own socket, that the server
    //    answers at once with an error (no such command; invalid params). Neither may settle
    //    the pending calls. (A duplicate call would be dropped and the socket closed with 1007:
    //    denial of service, which a script that reached the socket can always do.)
    attempt("colliding ids on the client's socket", () => {
      if (sockets.length === 0) return "no socket";
      const ws = sockets[0];
      for (const id of callIds()) {
        orig.send.call(ws, savedStringify({ type: "call", id, method: "no_such_command", params: {} }));
        orig.send.call(ws, savedStringify({ type: "call", id, method: "echo", params: { value: 2 ** 60 } }));
      }
    });

    // 5. Builtins replaced after load while a real event and a real reply arrive: the
    //    receive path must not use the page's JSON.parse, Array.isArray or `data` getter.
    const frames = forgedFrames();
    let n = 0;
    JSON.parse = () => frames[n++ % frames.length];
    Array.isArray = () => false;
    Object.defineProperty(MessageEvent.prototype, "data", {
      get: () => savedStringify(frames[n++ % frames.length]),
      configurable: true,
    });
    try {
      R.replacedBuiltinsCall = await within(av.call("emit_tick", { n: 1 }), 2000);
      await sleep(200);
    } finally {
      JSON.parse = savedParse;
      Array.isArray = orig.isArray;
      Object.defineProperty(MessageEvent.prototype, "data", orig.data);
    }
    R.parseCallsSeen = n;

    // 6. Object.prototype polluted with every field a frame has, and a callable `then`,
    //    while real replies and a real event arrive.
    const fields = { type: "call_result", id: 1, ok: true, result: FAKE, event: "tick", payload: FAKE, error: null };
    for (const [k, v] of Object.entries(fields)) {
      Object.defineProperty(Object.prototype, k, { value: v, configurable: true, writable: true });
    }
    Object.defineProperty(Object.prototype, "then", {
      value: function (res) {
        res(FAKE);
      },
      configurable: true,
      writable: true,
    });
    let echoed;
    try {
      av.call("echo", { value: { real: [1, 2] } }).then((v) => (echoed = v));
      av.call("emit_tick", { n: 2 }).then(() => {});
      for (let i = 0; i < 200 && (echoed === undefined || got.length < 2); i++) await sleep(10);
    } finally {
      for (const k of [...Object.keys(fields), "then"]) delete Object.prototype[k];
    }
    R.echoed = echoed === undefined ? "nothing" : echoed;

    // 7. Builtins through which a resolver, listener, timer or handler could be seen,
    //    replaced while a new call and a new listener are made.
    const grabbed = [];
    const grab = (x) => {
      if (x !== undefined) grabbed.push(x);
    };
    const b = {
      mapSet: Map.prototype.set, mapGet: Map.prototype.get, setAdd: Set.prototype.add, from: Array.from,
      Promise: window.Promise, setTimeout: window.setTimeout, Proxy: window.Proxy,
      aborted: Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted"),
    };
    Map.prototype.set = function (k, v) {
      grab(v);
      return b.mapSet.call(this, k, v);
    };
    Map.prototype.get = function (k) {
      const v = b.mapGet.call(this, k);
      grab(v);
      return v;
    };
    Set.prototype.add = function (v) {
      grab(v);
      return b.setAdd.call(this, v);
    };
    Array.from = function (x, ...rest) {
      grab(x);
      return b.from.call(Array, x, ...rest);
    };
    window.Promise = class extends b.Promise {
      constructor(ex) {
        super((res, rej) => {
          grab(res);
          ex(res, rej);
        });
      }
    };
    window.setTimeout = (fn) => {
      grab(fn);
      return 0;
    };
    EventTarget.prototype.addEventListener = function (type, fn, o) {
      grab(fn);
      return orig.addEventListener.call(this, type, fn, o);
    };
    Object.defineProperty(AbortSignal.prototype, "aborted", { get: () => true, configurable: true });
    window.Proxy = function (target, handler) {
      grab(handler);
      return new b.Proxy(target, handler);
    };
    const controller = new AbortController();
    let patchedCall;
    try {
      patchedCall = av.call("slow", { tag: "patched" }, { timeout: 60000, signal: controller.signal });
      av.on("tick", (p) => got.push(["second", p]));
      void av.newNamespace.method; // a namespace made while Proxy is replaced
    } finally {
      Map.prototype.set = b.mapSet;
      Map.prototype.get = b.mapGet;
      Set.prototype.add = b.setAdd;
      Array.from = b.from;
      window.Promise = b.Promise;
      window.setTimeout = b.setTimeout;
      EventTarget.prototype.addEventListener = orig.addEventListener;
      Object.defineProperty(AbortSignal.prototype, "aborted", b.aborted);
      window.Proxy = b.Proxy;
    }
    track("patched", patchedCall);
    R.grabbed = grabbed.length;
    for (const g of grabbed) {
      try {
        if (typeof g === "function") g(FAKE);
      } catch {}
      try {
        if (g && typeof g.resolve === "function") g.resolve(FAKE);
      } catch {}
      try {
        if (g && typeof g.forEach === "function") g.forEach((l) => typeof l === "function" && l(FAKE));
      } catch {}
    }

    // Before the release: nothing may have settled, and listeners saw only real events.
    await sleep(300);
    R.socketsSeen = sockets.length;
    R.handlersSeen = handlers.length;
    R.before = {
      settled: savedParse(savedStringify(settled)),
      got: got.slice(),
      fakeSeen: fakeSeen.slice(),
      stats: { ...av.stats() },
      state: av.connection.state,
    };

    // The release: the real replies arrive, and a real event after them.
    await av.call("release");
    for (let i = 0; i < 500 && Object.keys(settled).length < 3; i++) await sleep(10);
    await av.call("emit_tick", { n: 3 });
    for (let i = 0; i < 200 && !got.some((g) => g && g.n === 3); i++) await sleep(10);
    R.settled = settled;
    R.got = got;
    R.fakeSeen = fakeSeen;
    R.stats = { ...av.stats() };
  }
})();
