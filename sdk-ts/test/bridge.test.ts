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
  call(method: string, params?: unknown, options?: { timeout?: number }): Promise<unknown>;
  send_event(event: string, detail?: unknown): void;
  on(event: string, handler: (payload: unknown) => void): () => void;
  stats(): { pending: number; unmatched: number };
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
  const dispatched: FakeCustomEvent[] = [];
  const onDocument = new Map<string, () => void>();
  const postMessage = (message: string): void => void posted.push(message);
  const sandbox: Record<string, unknown> = {
    console,
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
  const receive = (frames: unknown[]): unknown => (run("window.__auroraview_receive") as (batch: string) => unknown)(JSON.stringify(frames));
  const domReady = (): void => onDocument.get("DOMContentLoaded")!();
  const messages = (): Array<Record<string, unknown>> => posted.map((m) => JSON.parse(m) as Record<string, unknown>);
  return { sandbox, run, av, posted, messages, dispatched, receive, domReady, postMessage };
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
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 1 });
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
