// The generated bridge (src/webview/bridge.gen.js) run in a node `vm` with a minimal fake
// window: what it posts, what it installs, and how it delivers what the host sends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import vm from "node:vm";
import { decodeFrame, encodeFrame, extractBlobs, InvokeError } from "../src/index.js";

// This file runs from build/test/test/.
const SCRIPT = readFileSync(new URL("../../../../src/webview/bridge.gen.js", import.meta.url), "utf8");

interface Bridge {
  __bridge: number;
  call(method: string, params?: unknown, options?: { timeout?: number; signal?: AbortSignal; onItem?: (item: unknown) => void; binary?: boolean }): Promise<unknown>;
  stream(method: string, params?: unknown): AsyncIterable<unknown>;
  send_event(event: string, detail?: unknown): void;
  on(event: string, handler: (payload: unknown) => void): () => void;
  stats(): { pending: number; unmatched: number; refused: number; duplicates: number };
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

/** A window's `fetch`, as the bridge calls it. */
type FetchLike = (url: unknown, init?: unknown) => unknown;

function load({ webkit = true, readyState = "loading", fetch = undefined as FetchLike | undefined } = {}) {
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
    TextDecoder,
    Response,
  };
  if (webkit) sandbox.webkit = { messageHandlers: { ipc: { postMessage } } };
  if (fetch !== undefined) sandbox.fetch = fetch; // there before the bridge, as a window's is
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
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 1, refused: 0, duplicates: 0 });
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
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 0, refused: 1, duplicates: 0 });
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

// ── Binary calls (docs/binary.md): a POST of a frame through the fetch of load time.

const CALL_URL = "auroraview://localhost/__auroraview/call";

interface Posted {
  url: unknown;
  init: Record<string, unknown>;
  request: Request;
  /** The frame's JSON message, parsed, and its attachments. */
  message: Record<string, unknown>;
  blobs: Uint8Array[];
}

/** A fake `fetch` that records each request and answers with `answer(request)`. */
function fakeFetch(answer: (posted: Posted) => Response | Promise<Response>) {
  const posted: Posted[] = [];
  const fetch = (url: unknown, init?: unknown): Promise<Response> => {
    const i = init as Record<string, unknown>;
    // The body goes through the fetch standard's own checks here: a Request is built of it.
    const request = new Request(String(url), i as RequestInit);
    const { json, blobs } = decodeFrame(i.body as Uint8Array);
    const entry = { url, init: i, request, message: JSON.parse(json) as Record<string, unknown>, blobs };
    posted.push(entry);
    return Promise.resolve(answer(entry)); // an answer that throws makes fetch throw at once
  };
  return { fetch, posted };
}

/** A binary reply frame, as the host writes it. */
function replyFrame(id: unknown, result: unknown, ok = true): Uint8Array {
  const cut = extractBlobs(result);
  const message = ok ? { type: "call_result", id, ok, result: cut.value } : { type: "call_result", id, ok, error: result };
  return encodeFrame(JSON.stringify(message), cut.blobs);
}

const frameResponse = (frame: Uint8Array, status = 200) => new Response(frame as Uint8Array<ArrayBuffer>, { status, headers: { "content-type": "application/octet-stream" } });

test("a binary call is one POST of a frame: key header and key field, one Uint8Array body, bytes back", async () => {
  const { fetch, posted } = fakeFetch(({ message, blobs }) =>
    frameResponse(replyFrame(message.id, { size: blobs[0]?.length, png: new Uint8Array([...(blobs[0] ?? [])].reverse()), list: [new Uint8Array(0)] })),
  );
  const { av, run, key, messages, domReady } = load({ fetch });
  domReady();
  await av.ready;
  // A page script replaces fetch after the bridge: it must neither see nor redirect the call.
  run("window.stolen = []; window.fetch = (...args) => { stolen.push(args); return new Promise(() => {}); };");
  const data = new Uint8Array([0, 1, 2, 253, 254, 255]);
  const result = (await av.call("api.thumbnail", { data, name: "n" })) as { size: number; png: Uint8Array; list: Uint8Array[] };
  assert.equal(posted.length, 1);
  assert.equal(run("stolen.length"), 0, "the page's fetch was used");
  const [{ url, init, request, message, blobs }] = posted;
  assert.equal(url, CALL_URL);
  assert.equal(request.method, "POST");
  assert.equal(request.headers.get("X-AuroraView-Key"), key());
  assert.equal(request.redirect, "error");
  assert.equal(request.credentials, "omit");
  assert.equal(Object.prototype.toString.call(init.body), "[object Uint8Array]", "the body is one Uint8Array");
  assert.ok(!(init.body instanceof Blob), "never a Blob");
  assert.deepEqual(message, { type: "call", key: key(), id: 1, method: "api.thumbnail", params: { data: { $bin: 0 }, name: "n" } });
  assert.deepEqual([...blobs[0]], [...data]);
  // Nothing of the call went through the message handler.
  assert.deepEqual(messages().map((m) => m.type), ["hello", "ready"]);
  assert.equal(result.size, 6);
  assert.deepEqual([...result.png], [255, 254, 253, 2, 1, 0]);
  assert.equal(result.list[0].length, 0);
  // binary: true without bytes, and a call made by a page script with its own Uint8Array.
  assert.equal(((await av.call("api.info", { path: "a" }, { binary: true })) as { size: number }).size, undefined);
  const fromPage = (await run("auroraview.call('api.page', { data: new Uint8Array(3) })")) as { size: number };
  assert.equal(fromPage.size, 3);
  assert.equal(posted.length, 3);
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("a refused or failed binary request settles its call once, with a structured error", async () => {
  const errorFrame = (id: unknown) => replyFrame(id, { name: "ValidationError", code: "invalid_params", message: "data: too short", data: { errors: [] } }, false);
  const answers: Record<string, (p: Posted) => Response | Promise<Response>> = {
    forbidden: () => new Response("forbidden", { status: 403 }),
    tooLarge: () => new Response(null, { status: 413 }),
    network: () => Promise.reject(new TypeError("Failed to fetch")),
    serverError: () => new Response("oops", { status: 500 }),
    tooMany: () => new Response(null, { status: 429 }),
    errorWithReply: (p) => frameResponse(errorFrame(p.message.id), 400),
    tooLargeWithReply: (p) => frameResponse(replyFrame(p.message.id, { name: "PayloadTooLarge", code: "payload_too_large", message: "the host's words", data: null }, false), 413),
    notAFrame: () => new Response('{"type":"call_result"}', { status: 200 }),
    otherCall: () => frameResponse(replyFrame(999, "not yours")),
    throws: () => {
      throw new TypeError("at once");
    },
  };
  const { fetch, posted } = fakeFetch((p) => answers[p.message.method as string](p));
  const { av, domReady } = load({ fetch });
  domReady();
  await av.ready;
  const expect: Array<[string, string, string, RegExp]> = [
    ["forbidden", "forbidden", "Forbidden", /HTTP 403/],
    ["tooLarge", "payload_too_large", "PayloadTooLarge", /HTTP 413/],
    ["network", "disconnected", "Disconnected", /could not reach the host: Failed to fetch/],
    ["serverError", "disconnected", "Disconnected", /HTTP 500/],
    ["tooMany", "overloaded", "Overloaded", /HTTP 429/],
    ["errorWithReply", "invalid_params", "ValidationError", /data: too short/],
    ["tooLargeWithReply", "payload_too_large", "PayloadTooLarge", /the host's words/],
    ["notAFrame", "internal", "InternalError", /not a binary frame/],
    ["otherCall", "internal", "InternalError", /not a binary frame holding its reply/],
    ["throws", "disconnected", "Disconnected", /at once/],
  ];
  const outcomes = await Promise.allSettled(expect.map(([method]) => av.call(method, { data: new Uint8Array(1) })));
  outcomes.forEach((outcome, i) => {
    const [method, errorCode, name, message] = expect[i];
    assert.equal(outcome.status, "rejected", method);
    const e = (outcome as PromiseRejectedResult).reason as InvokeError;
    assert.ok(e instanceof InvokeError, method);
    assert.equal(e.code, errorCode, method);
    assert.equal(e.name, name, method);
    assert.match(e.message, message, method);
  });
  assert.equal(posted.length, expect.length);
  await new Promise((r) => setTimeout(r, 10));
  // Exactly one reply each: a second one would count as unmatched.
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("a frame over 33 MiB is posted in parts, in order, each naming its upload; the last one is answered", async () => {
  const PART = 33 * 1024 * 1024;
  const seen: Array<{ upload: string | null; key: string | null; size: number }> = [];
  const bodies: Uint8Array[] = [];
  let refuseAt = -1;
  const fetch = (url: unknown, init?: unknown): Promise<Response> => {
    const request = new Request(String(url), init as RequestInit);
    const body = (init as { body: Uint8Array }).body;
    const upload = request.headers.get("X-AuroraView-Upload");
    seen.push({ upload, key: request.headers.get("X-AuroraView-Key"), size: body.length });
    if (seen.length - 1 === refuseAt) return Promise.resolve(new Response(null, { status: 413 }));
    bodies.push(new Uint8Array(body)); // a copy, as the host reads it
    if (upload !== null && upload.endsWith(";more")) return Promise.resolve(new Response(null, { status: 204 }));
    const whole = new Uint8Array(bodies.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of bodies) {
      whole.set(b, at);
      at += b.length;
    }
    bodies.length = 0;
    const { json, blobs } = decodeFrame(whole);
    const message = JSON.parse(json) as { id: unknown };
    let sum = 0;
    for (let i = 0; i < blobs[0].length; i += 4099) sum = (sum + blobs[0][i]) % 65521;
    return Promise.resolve(frameResponse(replyFrame(message.id, { size: blobs[0].length, sum })));
  };
  const { av, key, domReady } = load({ fetch });
  domReady();
  await av.ready;
  const data = new Uint8Array(2 * PART + 5);
  for (let i = 0; i < data.length; i += 4099) data[i] = i % 251;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4099) sum = (sum + data[i]) % 65521;
  const result = (await av.call("api.big", { data })) as { size: number; sum: number };
  assert.deepEqual({ size: result.size, sum: result.sum }, { size: data.length, sum });
  // The frame is the data plus a header and its JSON: three parts, the last one short.
  assert.deepEqual(seen.map((s) => s.upload), ["0;more", "0;more", "0;last"]);
  assert.deepEqual(seen.slice(0, 2).map((s) => s.size), [PART, PART]);
  assert.ok(seen[2].size > 5 && seen[2].size < 1024, `last part ${seen[2].size} bytes`);
  assert.ok(seen.every((s) => s.key === key()), "every part carries the key");
  // A small call after it is one POST without the header; the next upload has the next number.
  await av.call("api.small", { data: new Uint8Array(3) });
  assert.equal(seen[3].upload, null);
  // A part refused: the call fails with the host's reason, and no later part is posted.
  seen.length = 0;
  refuseAt = 1;
  await assert.rejects(av.call("api.big", { data }), (e: unknown) => e instanceof InvokeError && e.code === "payload_too_large");
  assert.deepEqual(seen.map((s) => s.upload), ["1;more", "1;more"]);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen.length, 2, "no part after the refused one");
  assert.deepEqual({ ...av.stats() }, { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("binary calls made before the page is ready wait for hello and ready; one cancelled meanwhile never leaves", async () => {
  const { fetch, posted } = fakeFetch(({ message }) => frameResponse(replyFrame(message.id, "ok")));
  const { av, messages, domReady } = load({ fetch });
  const controller = new AbortController();
  const first = av.call("a", { data: new Uint8Array(1) });
  const cancelled = av.call("b", { data: new Uint8Array(2) }, { signal: controller.signal });
  const third = av.call("c", undefined, { binary: true });
  controller.abort();
  await assert.rejects(cancelled, (e: unknown) => e instanceof InvokeError && e.code === "cancelled");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(posted.length, 0, "nothing posted before the page is ready");
  domReady();
  await av.ready;
  assert.deepEqual(await Promise.all([first, third]), ["ok", "ok"]);
  assert.deepEqual(posted.map((p) => p.message.method), ["a", "c"]);
  assert.deepEqual(messages().map((m) => m.type), ["hello", "ready"], "no cancel for a call that never left");
  assert.deepEqual({ ...av.stats(), unmatched: 0 }, { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("a window without fetch refuses binary calls (internal) and still serves the others", async () => {
  const { av, receive, domReady } = load();
  domReady();
  await av.ready;
  await assert.rejects(av.call("checksum", { data: new Uint8Array(1) }), (e: unknown) => e instanceof InvokeError && e.code === "internal" && /carries no binary data/.test(e.message));
  const plain = av.call("add", { a: 1 });
  receive([{ type: "call_result", id: 2, ok: true, result: 1 }]);
  assert.equal(await plain, 1);
});

test("page hooks installed after the bridge never see the key of a binary call, nor forge its reply", async () => {
  let SandboxPromise: PromiseConstructor | undefined;
  const { fetch, posted } = fakeFetch(({ message }) => frameResponse(replyFrame(message.id, { real: new Uint8Array([1]) })));
  // The fetch answers with promises of the page's realm, whose `then` the page replaces below.
  const { av, run, key, domReady } = load({ fetch: (url, init) => new SandboxPromise!((resolve, reject) => (fetch(url, init) as Promise<Response>).then(resolve, reject)) });
  SandboxPromise = run("Promise") as PromiseConstructor;
  domReady();
  await av.ready;
  const savedArrayBuffer = Response.prototype.arrayBuffer;
  try {
    run(`
      const store = new Map();
      const grab = (v) => { store.set(store.size, v); return v; };
      window.seen = () => [...store.values()];
      const o = JSON.stringify;
      JSON.stringify = function (...a) { return grab(o.apply(this, a)); };
      const cc = String.prototype.charCodeAt;
      String.prototype.charCodeAt = function (i) { grab(String(this)); return cc.call(this, i); };
      const set = Uint8Array.prototype.set;
      Uint8Array.prototype.set = function (...a) { grab(this); grab(a[0]); return set.apply(this, a); };
      Object.getPrototypeOf(Uint8Array.prototype).set = Uint8Array.prototype.set;
      for (const name of ["signal", "window", "mode", "cache", "integrity", "keepalive", "referrer", "referrerPolicy", "priority", "duplex", "headers", "body"]) {
        Object.defineProperty(Object.prototype, name, { get() { grab(this); return undefined; }, configurable: true });
      }
      // Fetch asks a headers object for an iterator (a list of pairs?) before reading it as a record.
      Object.defineProperty(Object.prototype, Symbol.iterator, { get() { grab(this); return undefined; }, configurable: true });
      for (const i of ["0", "1"]) {
        Object.defineProperty(Array.prototype, i, { set(v) { grab(v); Object.defineProperty(this, i, { value: v, writable: true, enumerable: true, configurable: true }); }, configurable: true });
      }
      // A forged reply for call 1: what a looked-up then would hand over instead of the host's.
      const forged = '{"type":"call_result","id":1,"ok":true,"result":"FORGED"}';
      const forgedFrame = [0, forged.length, 0, 0, 0, 0, 0, 0, 0, ...Array.from(forged, (c) => cc.call(c, 0))];
      const then = Promise.prototype.then;
      Promise.prototype.then = function (ok, err) {
        return then.call(this, (v) => { grab(v); return ok && ok(v instanceof Response ? new Response(new Uint8Array(forgedFrame)) : v); }, err);
      };
      // A forged reply: what a looked-up arrayBuffer would hand the bridge.
      Response.prototype.arrayBuffer = function () { return Promise.resolve(new Uint8Array([0, 2, 0, 0, 0, 0, 0, 0, 0, 123, 125]).buffer); };
      window.results = [];
      auroraview.call("api.bytes", { data: new Uint8Array([7, 8]) }).then((v) => results.push(v), (e) => results.push(e.code));
    `);
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    Response.prototype.arrayBuffer = savedArrayBuffer;
    run(`
      for (const name of ["signal", "window", "mode", "cache", "integrity", "keepalive", "referrer", "referrerPolicy", "priority", "duplex", "headers", "body"]) delete Object.prototype[name];
      delete Array.prototype[0]; delete Array.prototype[1]; delete Object.prototype[Symbol.iterator];
    `);
  }
  assert.equal(posted.length, 1);
  assert.equal(posted[0].request.headers.get("X-AuroraView-Key"), key(), "the call still went, with the key");
  const results = run("results") as Array<{ real: Uint8Array }>;
  assert.equal(results.length, 1);
  assert.deepEqual([...results[0].real], [1], "the host's reply, not the forged one");
  const seen = run("seen()") as unknown[];
  const k = key();
  const mentions = (v: unknown): boolean => {
    if (typeof v === "string") return v.includes(k);
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("latin1").includes(k);
    if (v instanceof ArrayBuffer || Object.prototype.toString.call(v) === "[object ArrayBuffer]") return Buffer.from(v as ArrayBuffer).toString("latin1").includes(k);
    if (typeof v === "object" && v !== null) return Object.values(v).some((x) => typeof x === "string" && x.includes(k)) || JSON.stringify(Object.keys(v)).includes("headers");
    return false;
  };
  assert.ok(seen.length > 0, "the hooks ran");
  assert.equal(seen.filter(mentions).length, 0, "a page hook saw the key");
});
