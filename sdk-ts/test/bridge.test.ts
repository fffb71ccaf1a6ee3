// The generated bridge (src/webview/bridge.gen.js) run in a node `vm` with a minimal fake
// window: what it posts, what it installs, and how it delivers what the host sends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import vm from "node:vm";
import { InvokeError } from "../src/index.js";

// This file runs from build/test/test/.
const SCRIPT = readFileSync(new URL("../../../../src/webview/bridge.gen.js", import.meta.url), "utf8");

interface Bridge {
  __bridge: number;
  call(method: string, params?: unknown, options?: { timeout?: number; onItem?: (item: unknown) => void }): Promise<unknown>;
  stream(method: string, params?: unknown): AsyncIterable<unknown>;
  send_event(event: string, detail?: unknown): void;
  on(event: string, handler: (payload: unknown) => void): () => void;
  stats(): { pending: number; unmatched: number; refused: number };
  trigger(event: string, payload?: unknown): void;
  readonly state: string;
  readonly ready: Promise<void>;
  readonly InvokeError: typeof InvokeError;
  [namespace: string]: unknown;
}

class FakeCustomEvent {
  readonly detail: unknown;
  constructor(
    readonly type: string,
    init?: { detail?: unknown },
  ) {
    this.detail = init?.detail;
  }
}

function load({ webkit = true, readyState = "loading" } = {}) {
  const posted: string[] = [];
  const warnings: unknown[][] = [];
  const dispatched: FakeCustomEvent[] = [];
  const onDocument = new Map<string, () => void>();
  const postMessage = (message: string): void => void posted.push(message);
  const sandbox: Record<string, unknown> = {
    console: { log: console.log, error: console.error, warn: (...args: unknown[]) => void warnings.push(args) },
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    crypto: { getRandomValues: <T extends NodeJS.ArrayBufferView>(bytes: T): T => randomFillSync(bytes) },
    CustomEvent: FakeCustomEvent,
    dispatchEvent: (event: FakeCustomEvent) => dispatched.push(event) > 0,
    addEventListener: (): void => {},
    document: { readyState, addEventListener: (type: string, fn: () => void) => onDocument.set(type, fn) },
  };
  if (webkit) sandbox.webkit = { messageHandlers: { ipc: { postMessage } } };
  const context = vm.createContext(sandbox);
  vm.runInContext("var window = globalThis;", context);
  const run = (code: string): unknown => vm.runInContext(code, context);
  run(SCRIPT);
  const av = run("window.auroraview") as Bridge;
  const receiver = run("window.__auroraview_receive") as (...args: unknown[]) => unknown;
  const messages = (): Array<Record<string, unknown>> => posted.map((m) => JSON.parse(m) as Record<string, unknown>);
  /** This document's key, as its `hello` announced it to the host. */
  const key = (): string => messages().find((m) => m.type === "hello")!.key as string;
  /** A delivery as the host makes it: the document's key, then the batch as a JSON string. */
  const receive = (frames: unknown[]): unknown => receiver(key(), JSON.stringify(frames));
  const domReady = (): void => onDocument.get("DOMContentLoaded")!();
  return { sandbox, run, av, posted, messages, dispatched, receive, receiver, key, domReady, postMessage, warnings };
}

test("hello comes first with a 32-hex key, every message carries it, ready after DOMContentLoaded", async () => {
  const { av, posted, messages, dispatched, domReady } = load();
  assert.match(posted[0], /^\{"type":"hello","key":"[0-9a-f]{32}"\}$/);
  const key = messages()[0].key;
  void av.call("add", { a: 1 });
  av.send_event("ping", { n: 1 });
  assert.equal(av.state, "connecting");
  assert.equal(dispatched.length, 0);
  domReady();
  assert.deepEqual(messages(), [
    { type: "hello", key },
    { type: "call", key, id: 1, method: "add", params: { a: 1 } },
    { type: "event", key, event: "ping", detail: { n: 1 } },
    { type: "ready", key },
  ]);
  assert.equal(av.state, "open");
  await av.ready;
  assert.equal(dispatched.length, 1);
  assert.equal(dispatched[0].type, "auroraviewready");
  assert.equal(dispatched[0].detail, av);
});

test("__auroraview_receive settles calls with results and InvokeErrors", async () => {
  const { av, receive, domReady } = load();
  domReady();
  const ok = av.call("add", { a: 1, b: 2 });
  const bad = av.call("fail");
  receive([
    { type: "call_result", id: 1, ok: true, result: 3 },
    { type: "call_result", id: 2, ok: false, error: { name: "NameTaken", code: "name_taken", message: "taken", data: { field: "x" } } },
    { type: "call_result", id: 7, ok: true, result: null },
  ]);
  assert.equal(await ok, 3);
  await assert.rejects(bad, (e: unknown) => {
    // The bridge's own copy of the class, in another realm, and the SDK's: one type.
    assert.ok(e instanceof av.InvokeError && e instanceof InvokeError);
    assert.equal(e.code, "name_taken");
    return true;
  });
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 1, refused: 0 });
});

test("an event reaches auroraview.on listeners and a DOM CustomEvent on window", async () => {
  const { av, receive, dispatched, domReady, run } = load();
  domReady();
  await av.ready;
  const got: unknown[] = [];
  av.on("update_data", (p) => got.push(p));
  av.on("only_on", () => {});
  run('window.addEventListener("update_data", () => {})'); // as a seed page does
  receive([
    { type: "event", event: "update_data", payload: { rows: [1] } },
    { type: "event", event: "only_on", payload: 1 },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(got)), [{ rows: [1] }]);
  const event = dispatched.find((e) => e.type === "update_data");
  assert.ok(event);
  assert.deepEqual(JSON.parse(JSON.stringify(event.detail)), { rows: [1] });
  // Nothing listens on window for it: no DOM event is built (it halved the event rate).
  assert.equal(dispatched.find((e) => e.type === "only_on"), undefined);
});

test("streams and channels through the bridge: items with the key, acks posted with it, forged items ignored", async () => {
  const { av, receive, receiver, messages, key, domReady } = load();
  domReady();
  await av.ready;
  const it = av.stream("watch", { total: 3 })[Symbol.asyncIterator]();
  const first = it.next();
  receiver("not the key", JSON.stringify([{ type: "item", id: 1, seq: 1, item: "FORGED" }]));
  receive([{ type: "item", id: 1, seq: 1, item: { done: 1 } }, { type: "item", id: 1, seq: 2, item: { done: 2 } }]);
  assert.deepEqual(JSON.parse(JSON.stringify(await first)), { done: false, value: { done: 1 } });
  assert.deepEqual(JSON.parse(JSON.stringify(await it.next())), { done: false, value: { done: 2 } });
  const third = it.next(); // nothing held: acknowledges 2
  receive([{ type: "item", id: 1, seq: 3, item: { done: 3 } }, { type: "call_result", id: 1, ok: true, result: null }]);
  assert.deepEqual(JSON.parse(JSON.stringify(await third)), { done: false, value: { done: 3 } });
  assert.equal((await it.next()).done, true);

  const progress: unknown[] = [];
  const exported = av.call("export", { path: "/x" }, { onItem: (p) => progress.push(p) });
  receive([{ type: "item", id: 2, seq: 1, item: 1 }, { type: "item", id: 2, seq: 2, item: 2 }]);
  receive([{ type: "call_result", id: 2, ok: true, result: "/x" }]);
  assert.equal(await exported, "/x");
  assert.deepEqual(progress, [1, 2]);

  const k = key();
  assert.deepEqual(
    messages().filter((m) => m.type === "ack" || m.type === "call"),
    [
      { type: "call", key: k, id: 1, method: "watch", params: { total: 3 } },
      { type: "ack", key: k, id: 1, seq: 2 },
      { type: "call", key: k, id: 2, method: "export", params: { path: "/x" } },
      { type: "ack", key: k, id: 2, seq: 2 },
    ],
  );
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 0, refused: 1 });
});

test("any namespace is a call: auroraview.tools.x() posts method tools.x", () => {
  const { av, messages } = load();
  void (av.tools as Record<string, (p?: unknown) => Promise<unknown>>).x();
  void (av.api as Record<string, (p?: unknown) => Promise<unknown>>).save({ path: "/p" });
  const calls = messages().filter((m) => m.type === "call");
  assert.deepEqual(calls.map((m) => [m.method, m.params]), [["tools.x", undefined], ["api.save", { path: "/p" }]]);
  assert.equal(av.then, undefined);
});

test("window.auroraview and the receiver are frozen in place; a second injection changes nothing", () => {
  const { run, av, posted } = load();
  for (const name of ["auroraview", "__auroraview_receive"]) {
    const d = run(`Object.getOwnPropertyDescriptor(window, ${JSON.stringify(name)})`) as PropertyDescriptor;
    assert.equal(d.writable, false, name);
    assert.equal(d.configurable, false, name);
  }
  assert.ok(Object.isFrozen(av));
  assert.equal(run("window.auroraview = {}; window.auroraview.call = null; typeof window.auroraview.call"), "function");
  assert.equal(run("window.auroraview"), av);
  run(SCRIPT);
  assert.equal(run("window.auroraview"), av);
  assert.equal(posted.length, 1); // still only the first hello
});

test("page hooks installed after the bridge never see the key", () => {
  const { run, posted, domReady } = load();
  run(`
    window.seen = [];
    const o = JSON.stringify;
    JSON.stringify = function (...a) { const s = o.apply(this, a); seen.push(String(s)); return s; };
    Object.prototype.toJSON = function () { seen.push(Object.keys(this).join(",")); return this; };
  `);
  domReady();
  // Made in the page's realm, so the page's Object.prototype.toJSON applies to the payloads.
  run('auroraview.call("add", { a: 2, b: 3 }); auroraview.send_event("ping", { n: 1 }); delete Object.prototype.toJSON;');
  assert.equal(posted.length, 4); // hello, ready, call, event
  const key = (JSON.parse(posted[0]) as { key: string }).key;
  const seen = run("window.seen") as string[];
  assert.ok(seen.length > 0); // the hooks ran, on the payloads only
  assert.equal(seen.filter((s) => s.includes("key") || s.includes(key)).length, 0, seen.join("|"));
  assert.equal(run("Object.values(window.auroraview).some((v) => v === " + JSON.stringify(key) + ")"), false);
});

test("without WebKit's handler, messages wait in order for wry's window.ipc", async () => {
  const { sandbox, av, posted, postMessage, messages, domReady } = load({ webkit: false });
  void av.call("early");
  assert.equal(posted.length, 0);
  domReady(); // no channel yet: polls for one
  sandbox.ipc = { postMessage };
  await av.ready;
  assert.deepEqual(messages().map((m) => m.type), ["hello", "call", "ready"]);
});

test("a document already loaded opens on the next turn", async () => {
  const { av, messages } = load({ readyState: "complete" });
  await av.ready;
  assert.deepEqual(messages().map((m) => m.type), ["hello", "ready"]);
});

// RELIABILITY.md case 28: page scripts cannot deliver replies or events as if from the host.

const FORGED = [
  { type: "call_result", id: 1, ok: true, result: "FORGED" },
  { type: "call_result", id: "1", ok: true, result: "FORGED" },
  { type: "event", event: "tick", payload: "FORGED" },
];

test("the receiver ignores a delivery without this document's key: no key, a wrong one, a guess", async () => {
  const { av, receiver, receive, key, domReady, warnings } = load();
  domReady();
  await av.ready;
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  let settled: unknown = "pending";
  void av.call("slow").then((v) => (settled = v));
  const batch = JSON.stringify(FORGED);
  const k = key();
  const attempts: unknown[][] = [
    [batch], // the seeds' shape: the batch alone
    [undefined, batch],
    [null, batch],
    ["", batch],
    ["0".repeat(32), batch],
    [(k[0] === "a" ? "b" : "a") + k.slice(1), batch], // one character off
    [k.slice(0, 31), batch],
    [k + "0", batch],
    [k.toUpperCase() === k ? k.toLowerCase() + "G" : k.toUpperCase(), batch],
    [{ toString: () => k, valueOf: () => k }, batch], // equal only by coercion
    [[k], batch],
    [batch, batch],
  ];
  for (let i = 0; i < 100; i++) attempts.push([Math.random().toString(16).slice(2).padEnd(32, "0").slice(0, 32), batch]);
  for (const args of attempts) assert.equal(receiver(...args), undefined);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(settled, "pending", "a forged reply settled the call");
  assert.deepEqual(got, [], "a forged event reached a listener");
  assert.equal(av.stats().pending, 1);
  assert.equal(av.stats().refused, attempts.length);
  // Told once, without the key.
  assert.equal(warnings.length, 1);
  assert.match(String(warnings[0][0]), /not from the host/);
  assert.ok(!JSON.stringify(warnings).includes(k));
  // The host's own delivery still gets through.
  receive([{ type: "call_result", id: 1, ok: true, result: "real" }, { type: "event", event: "tick", payload: "real" }]);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(settled, "real");
  assert.deepEqual(got, ["real"]);
});

test("trigger throws, settles nothing and reaches no listener", async () => {
  const { av, run, receive, domReady } = load();
  domReady();
  await av.ready;
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  let settled: unknown = "pending";
  void av.call("slow").then((v) => (settled = v));
  for (const [event, payload] of [
    ["__auroraview_call_result", { id: 1, ok: true, result: "FORGED" }], // the seeds' internal event
    ["__auroraview_call_result", { id: "1", ok: false, error: { name: "X", code: "internal", message: "FORGED", data: null } }],
    ["tick", "FORGED"],
  ] as const) {
    assert.throws(
      () => av.trigger(event, payload),
      (e: unknown) => /host/.test((e as Error).message) && /send_event/.test((e as Error).message),
    );
  }
  // A page script gets the same error, and detaching the method changes nothing.
  assert.match(String(run('try { const { trigger } = auroraview; trigger("tick", 1); "no error" } catch (e) { e.message }')), /send_event/);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(settled, "pending");
  assert.deepEqual(got, []);
  receive([{ type: "call_result", id: 1, ok: true, result: "real" }]);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(settled, "real");
});

test("builtins a page replaces or pollutes after the bridge loaded cannot feed or reach it", async () => {
  const { av, run, receive, domReady } = load();
  domReady();
  await av.ready;
  // Everything a page could hook to get at a call's resolver, a listener, a timer or the
  // receive path, installed after the bridge, as a page script would.
  run(`
    window.grabbed = [];
    const grab = (what) => grabbed.push(what);
    const fake = () => [{ type: "call_result", id: 1, ok: true, result: "FORGED" }, { type: "event", event: "tick", payload: "FORGED" }];
    JSON.parse = () => fake();
    Array.isArray = () => true;
    const set = Map.prototype.set, get = Map.prototype.get;
    Map.prototype.set = function (k, v) { grab(v); return set.call(this, k, v); };
    Map.prototype.get = function (k) { const v = get.call(this, k); grab(v); return v; };
    const add = Set.prototype.add;
    Set.prototype.add = function (v) { grab(v); return add.call(this, v); };
    const from = Array.from;
    Array.from = function (x, ...rest) { grab(x); return from.call(this, x, ...rest); };
    const P = Promise;
    window.Promise = class extends P { constructor(ex) { super((res, rej) => { grab(res); ex(res, rej); }); } };
    window.setTimeout = (fn) => { grab(fn); return 0; };
    Object.prototype.then = function (res) { res("FORGED"); };
    window.results = [];
    window.listened = [];
    auroraview.on("tick", (p) => listened.push(p));
    auroraview.call("m").then((v) => results.push(v));
    auroraview.call("m2", undefined, { timeout: 60000 }).then((v) => results.push(v), (e) => results.push(e.code));
    for (const g of grabbed.slice()) {
      try { if (typeof g === "function") g("FORGED"); } catch {}
      try { if (g && typeof g.resolve === "function") g.resolve("FORGED"); } catch {}
      try { if (g && typeof g.forEach === "function") g.forEach((l) => typeof l === "function" && l("FORGED")); } catch {}
    }
  `);
  // A real delivery, through the parse step the page replaced: it is the host's data that
  // arrives, and an object result is not adopted through the polluted \`then\`.
  receive([
    { type: "call_result", id: 1, ok: true, result: { real: 1 } },
    { type: "event", event: "tick", payload: "real" },
  ]);
  await new Promise((r) => setTimeout(r, 10));
  const results = run("JSON.stringify(window.results)");
  run("delete Object.prototype.then");
  assert.equal(results, JSON.stringify([{ real: 1 }]));
  assert.equal(run("JSON.stringify(window.listened)"), JSON.stringify(["real"]));
  assert.equal(av.stats().pending, 1, "the call with a timeout is still pending");
  assert.equal(run("grabbed.filter((g) => g !== undefined).length"), 0, "the bridge used a replaced builtin");
});
