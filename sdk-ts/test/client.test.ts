// Unit tests of the transport-agnostic client over a fake transport (node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BINARY_SCAN_DEPTH,
  createClient,
  decodeFrame,
  encodeFrame,
  extractBlobs,
  InvokeError,
  isInvokeError,
  type CallMessage,
  type ClientMessage,
  type HostMessage,
  type Namespace,
  type Transport,
  type TransportSink,
  type TransportState,
} from "../src/index.js";

/** Records what the client sends; the test plays the host. */
class FakeTransport implements Transport {
  state: TransportState;
  readonly sent: ClientMessage[] = [];
  failure: Error | undefined;
  private sink: TransportSink | undefined;
  constructor(state: TransportState = "open") {
    this.state = state;
  }
  attach(sink: TransportSink): void {
    this.sink = sink;
  }
  send(message: ClientMessage): void {
    if (this.failure) throw this.failure;
    this.sent.push(message);
  }
  deliver(...frames: HostMessage[]): void {
    this.sink!.receive(frames);
  }
  reply(id: number, result: unknown): void {
    this.deliver({ type: "call_result", id, ok: true, result });
  }
  change(state: TransportState, reason?: string): void {
    this.state = state;
    this.sink!.setState(state, reason);
  }
}

function setup(state?: TransportState) {
  const transport = new FakeTransport(state);
  return { transport, client: createClient(transport) };
}

const code = (expected: string, name?: string) => (e: unknown) =>
  e instanceof InvokeError && e.code === expected && (name === undefined || e.name === name);

test("calls get increasing ids and each reply settles its own call", async () => {
  const { transport, client } = setup();
  const a = client.call("a", { x: 1 });
  const b = client.call("b", [1, 2]);
  const c = client.call("c");
  assert.deepEqual(transport.sent, [
    { type: "call", id: 1, method: "a", params: { x: 1 } },
    { type: "call", id: 2, method: "b", params: [1, 2] },
    { type: "call", id: 3, method: "c", params: undefined },
  ]);
  transport.reply(3, "C");
  transport.reply(1, "A");
  transport.deliver({ type: "call_result", id: 2, ok: false, error: { name: "Bad", code: "bad", message: "no", data: { f: 1 } } });
  assert.equal(await a, "A");
  assert.equal(await c, "C");
  await assert.rejects(b, (e: unknown) => e instanceof InvokeError && e.name === "Bad" && e.message === "no" && (e.data as { f: number }).f === 1);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("results are delivered in the order their frames arrive", async () => {
  const { transport, client } = setup();
  const order: number[] = [];
  const calls = [1, 2, 3].map((n) => client.call("m").then(() => order.push(n)));
  transport.deliver(
    { type: "call_result", id: 2, ok: true },
    { type: "call_result", id: 3, ok: true },
    { type: "call_result", id: 1, ok: true },
  );
  await Promise.all(calls);
  assert.deepEqual(order, [2, 3, 1]);
});

test("one settlement per call: a duplicate or unknown reply is counted, never thrown", async () => {
  const { transport, client } = setup();
  const p = client.call("m");
  transport.reply(1, "first");
  transport.reply(1, "second");
  transport.reply(99, "stranger");
  assert.equal(await p, "first");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 2, refused: 0, duplicates: 0 });
});

test("a timeout rejects with code timeout, sends cancel, and a late reply is ignored", async () => {
  const { transport, client } = setup();
  const p = client.call("slow", undefined, { timeout: 10 });
  assert.equal(client.stats().pending, 1);
  await assert.rejects(p, code("timeout", "TimeoutError"));
  assert.deepEqual(transport.sent[1], { type: "cancel", id: 1 });
  assert.equal(client.stats().pending, 0);
  transport.reply(1, "late");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 1, refused: 0, duplicates: 0 });
});

test("a reply in time clears the timer", async () => {
  const { transport, client } = setup();
  const p = client.call("m", undefined, { timeout: 20 });
  transport.reply(1, 7);
  assert.equal(await p, 7);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(transport.sent.length, 1); // no cancel after the reply
});

test("an already aborted signal rejects at once without sending", async () => {
  const { transport, client } = setup();
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(client.call("m", {}, { signal: ac.signal }), code("cancelled", "AbortError"));
  assert.deepEqual(transport.sent, []);
  assert.equal(client.stats().pending, 0);
});

test("aborting during a call sends cancel and rejects with code cancelled", async () => {
  const { transport, client } = setup();
  const ac = new AbortController();
  const p = client.call("m", {}, { signal: ac.signal, timeout: 1000 });
  ac.abort();
  await assert.rejects(p, code("cancelled", "AbortError"));
  assert.deepEqual(transport.sent.map((m) => m.type), ["call", "cancel"]);
  transport.reply(1, "late");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 1, refused: 0, duplicates: 0 });
});

test("a send that throws rejects the call with disconnected and leaves nothing pending", async () => {
  const { transport, client } = setup();
  transport.failure = new Error("socket closed");
  await assert.rejects(client.call("m"), (e: unknown) => code("disconnected", "Disconnected")(e) && /socket closed/.test((e as Error).message));
  await assert.rejects(client.call("m", {}, { timeout: 1000 }), code("disconnected"));
  assert.equal(client.stats().pending, 0);
  assert.throws(() => client.send_event("e", 1), code("disconnected"));
});

test("closing with calls in flight rejects every one with disconnected at once", async () => {
  const { transport, client } = setup();
  const calls = [client.call("a"), client.call("b", {}, { timeout: 1000 }), client.call("c")];
  const settled: string[] = [];
  calls.forEach((p, i) => p.catch((e: InvokeError) => settled.push(i + ":" + e.code)));
  transport.change("closed", "window closed");
  assert.equal(client.stats().pending, 0);
  await Promise.resolve();
  assert.deepEqual(settled, ["0:disconnected", "1:disconnected", "2:disconnected"]);
  assert.equal(client.state, "closed");
  // Nothing more is sent once closed.
  await assert.rejects(client.call("d"), code("disconnected"));
  assert.equal(transport.sent.length, 3);
});

test("a dropped connection (open → connecting) rejects calls in flight; later calls wait", async () => {
  const { transport, client } = setup();
  const before = client.call("a");
  transport.change("connecting", "reconnecting");
  await assert.rejects(before, code("disconnected"));
  const after = client.call("b");
  transport.change("open");
  transport.reply(2, "B");
  assert.equal(await after, "B");
});

test("ready and state follow the transport", async () => {
  const { transport, client } = setup("connecting");
  assert.equal(client.state, "connecting");
  let ready = false;
  void client.ready.then(() => (ready = true));
  const early = client.call("early"); // queued by the transport, not rejected
  await Promise.resolve();
  assert.equal(ready, false);
  transport.change("open");
  await client.ready;
  assert.equal(client.state, "open");
  transport.reply(1, "ok");
  assert.equal(await early, "ok");

  const never = setup("connecting");
  never.transport.change("closed");
  await assert.rejects(never.client.ready, code("disconnected"));
});

test("listeners: on, once, off, unsubscribe, and a throwing one does not stop the others", (t) => {
  const { transport, client } = setup();
  const errors = t.mock.method(console, "error", () => {});
  const got: unknown[] = [];
  const event = (payload: unknown): HostMessage => ({ type: "event", event: "tick", payload });
  client.on("tick", () => {
    throw new Error("boom");
  });
  const off = client.on("tick", (p) => got.push(p));
  client.once("tick", (p) => got.push(["once", p]));
  const other = (p: unknown) => got.push(["other", p]);
  client.on("other", other);
  transport.deliver(event(1), event(2), { type: "event", event: "other", payload: 0 });
  off();
  client.off("other", other);
  transport.deliver(event(3), { type: "event", event: "other", payload: 0 });
  assert.deepEqual(got, [1, ["once", 1], 2, ["other", 0]]);
  assert.equal(errors.mock.callCount(), 3);
  client.off("tick");
  transport.deliver(event(4));
  assert.equal(errors.mock.callCount(), 3);
});

test("send_event sends an event message", () => {
  const { transport, client } = setup();
  client.send_event("export", { path: "/x" });
  assert.deepEqual(transport.sent, [{ type: "event", event: "export", detail: { path: "/x" } }]);
});

test("onEvent sees every event after the listeners; trigger is the host's, so it throws", async () => {
  const transport = new FakeTransport();
  const seen: unknown[] = [];
  const client = createClient(transport, { onEvent: (event, payload) => seen.push(["dom", event, payload]) });
  client.on("x", (p) => seen.push(["on", p]));
  transport.deliver({ type: "event", event: "x", payload: 2 });
  assert.deepEqual(seen, [["on", 2], ["dom", "x", 2]]);
  // Only the host delivers events and replies (RELIABILITY.md case 28): the seeds' internal
  // `__auroraview_call_result` event settles nothing, and trigger says what to use instead.
  const p = client.call("m");
  let settled = false;
  void p.then(() => (settled = true));
  for (const [event, payload] of [["__auroraview_call_result", { id: 1, ok: true, result: "forged" }], ["x", 3]] as const) {
    assert.throws(() => client.trigger(event, payload), (e: unknown) => e instanceof Error && /send_event/.test(e.message));
  }
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(settled, false);
  assert.deepEqual(seen, [["on", 2], ["dom", "x", 2]]);
  transport.reply(1, "real");
  assert.equal(await p, "real");
});

test("builtins replaced after the SDK loaded never see a call's resolver or a listener", async () => {
  const { transport, client } = setup();
  const grabbed: unknown[] = [];
  const saved = {
    set: Map.prototype.set,
    get: Map.prototype.get,
    add: Set.prototype.add,
    from: Array.from,
    Promise: globalThis.Promise,
    setTimeout: globalThis.setTimeout,
  };
  const { set, get, add, from } = saved;
  const addListener = EventTarget.prototype.addEventListener;
  const controller = new AbortController();
  let timed: Promise<unknown> | undefined;
  try {
    EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<EventTarget["addEventListener"]>) {
      grabbed.push(args[1]);
      return addListener.apply(this, args);
    };
    Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
      grabbed.push(v);
      return set.call(this, k, v);
    };
    Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) {
      const v = get.call(this, k);
      grabbed.push(v);
      return v;
    };
    Set.prototype.add = function (this: Set<unknown>, v: unknown) {
      grabbed.push(v);
      return add.call(this, v);
    };
    Array.from = function (this: unknown, x: unknown) {
      grabbed.push(x);
      return from(x as ArrayLike<unknown>);
    } as typeof Array.from;
    globalThis.Promise = class extends saved.Promise<unknown> {
      constructor(executor: (res: (v: unknown) => void, rej: (e: unknown) => void) => void) {
        super((res, rej) => {
          grabbed.push(res);
          executor(res, rej);
        });
      }
    } as PromiseConstructor;
    globalThis.setTimeout = ((fn: () => void) => {
      grabbed.push(fn);
      return 0;
    }) as unknown as typeof setTimeout;
    client.on("x", () => {});
    void client.call("m");
    timed = client.call("t", undefined, { timeout: 60_000, signal: controller.signal });
    timed.catch(() => {});
    transport.deliver({ type: "event", event: "x", payload: 1 });
  } finally {
    Map.prototype.set = saved.set;
    Map.prototype.get = saved.get;
    Set.prototype.add = saved.add;
    Array.from = saved.from;
    globalThis.Promise = saved.Promise;
    globalThis.setTimeout = saved.setTimeout;
    EventTarget.prototype.addEventListener = addListener;
  }
  assert.deepEqual(grabbed.filter((g) => g !== undefined), []);
  assert.equal(client.stats().pending, 2);
  controller.abort(); // the real listener was added: it cancels the call and clears its timer
  await assert.rejects(timed!, code("cancelled", "AbortError"));
});

test("any property is a namespace; the client is not a thenable", async () => {
  const { transport, client } = setup();
  const namespaces = client as unknown as Record<string, Namespace>;
  const x = namespaces.tools.x({ a: 1 });
  const save = client.api.save({ path: "/p" }, { timeout: 1000 });
  assert.deepEqual(
    transport.sent.map((m) => (m.type === "call" ? m.method : m.type)),
    ["tools.x", "api.save"],
  );
  transport.reply(1, "x");
  transport.reply(2, "saved");
  assert.deepEqual([await x, await save], ["x", "saved"]);
  assert.equal(namespaces.tools, namespaces.tools);
  assert.equal((client as unknown as { then?: unknown }).then, undefined);
  assert.equal((client.api as unknown as { then?: unknown }).then, undefined);
  assert.equal(await Promise.resolve(client), client);
  assert.equal(typeof String(client), "string");
  assert.ok(Object.isFrozen(client));
});

test("instanceof InvokeError holds across two separately loaded copies, subclasses keep theirs", async () => {
  const url = new URL("../src/errors.js?copy=2", import.meta.url).href;
  const copy = (await import(url)) as typeof import("../src/errors.js");
  assert.notEqual(copy.InvokeError, InvokeError);
  const shape = { name: "N", code: "c", message: "m", data: null };
  const mine = new InvokeError(shape);
  const theirs = new copy.InvokeError(shape);
  assert.ok(mine instanceof copy.InvokeError);
  assert.ok(theirs instanceof InvokeError);
  assert.ok(theirs instanceof Error);
  assert.ok(isInvokeError(theirs) && copy.isInvokeError(mine));
  assert.equal(JSON.stringify(mine), "{\"name\":\"N\",\"code\":\"c\",\"data\":null}");
  assert.equal(new Error("x") instanceof InvokeError, false);
  assert.equal(Object.assign(new Error("x"), { code: "c", data: null }) instanceof InvokeError, false);
  assert.equal((null as unknown) instanceof InvokeError, false);

  // An error a client rejects with is an instance of the other copy's class.
  const { transport, client } = setup();
  const p = client.call("m");
  transport.deliver({ type: "call_result", id: 1, ok: false, error: shape });
  await assert.rejects(p, (e: unknown) => e instanceof copy.InvokeError);

  class NameTaken extends InvokeError<"NameTaken", "name_taken", null> {}
  class Other extends copy.InvokeError {}
  const taken = new NameTaken({ name: "NameTaken", code: "name_taken", message: "m", data: null });
  assert.ok(taken instanceof NameTaken && taken instanceof InvokeError && taken instanceof copy.InvokeError);
  assert.equal(mine instanceof NameTaken, false);
  assert.equal(theirs instanceof NameTaken, false);
  assert.equal(taken instanceof Other, false);
});

// ── Binary calls (docs/binary.md) over a fake transport that frames as a real one does.

/** A FakeTransport with `sendBinary`: each binary call is framed, then decoded again and kept,
 * so what the test sees is what a host would read. Replies go through a real frame too. */
class BinaryTransport extends FakeTransport {
  /** Binary calls as the host would read them: the message and its attachments. */
  readonly binary: Array<{ message: CallMessage; blobs: Uint8Array[] }> = [];
  private binarySink: TransportSink | undefined;
  override attach(sink: TransportSink): void {
    super.attach(sink);
    this.binarySink = sink;
  }
  sendBinary(message: CallMessage, blobs: readonly Uint8Array[]): void {
    if (this.failure) throw this.failure;
    const { json, blobs: read } = decodeFrame(encodeFrame(JSON.stringify(message), blobs));
    this.binary.push({ message: JSON.parse(json) as CallMessage, blobs: read });
  }
  /** A reply as a binary frame: the result's bytes as attachments. */
  replyBinary(id: number, result: unknown): void {
    const cut = extractBlobs(result);
    const frame = decodeFrame(encodeFrame(JSON.stringify({ type: "call_result", id, ok: true, result: cut.value }), cut.blobs));
    this.binarySink!.receiveBinary(JSON.parse(frame.json) as HostMessage, frame.blobs);
  }
  /** Any message as a binary frame, with `blobs` as they are. */
  deliverBinary(message: HostMessage, blobs: Uint8Array[]): void {
    this.binarySink!.receiveBinary(message, blobs);
  }
}

function binarySetup() {
  const transport = new BinaryTransport();
  return { transport, client: createClient(transport) };
}

const bytes = (...values: number[]) => new Uint8Array(values);

test("params holding bytes take the binary way on their own; ordinary params stay text", async () => {
  const { transport, client } = binarySetup();
  const data = bytes(0, 1, 2, 255);
  const p = client.call("checksum", { data, name: "a" });
  void client.call("plain", { data: [0, 1], name: "b" });
  const q = client.call("deep", { model: { rows: [{ raw: new ArrayBuffer(2) }] } }, { timeout: 1000 });
  assert.deepEqual(transport.sent, [{ type: "call", id: 2, method: "plain", params: { data: [0, 1], name: "b" } }]);
  assert.equal(transport.binary.length, 2);
  assert.deepEqual(transport.binary[0].message, { type: "call", id: 1, method: "checksum", params: { data: { $bin: 0 }, name: "a" } });
  assert.deepEqual([...transport.binary[0].blobs[0]], [0, 1, 2, 255]);
  assert.deepEqual(transport.binary[1].message.params, { model: { rows: [{ raw: { $bin: 0 } }] } });
  assert.deepEqual([...transport.binary[1].blobs[0]], [0, 0]);
  transport.replyBinary(1, "digest");
  transport.replyBinary(3, { out: bytes(9) });
  assert.equal(await p, "digest");
  const out = (await q) as { out: Uint8Array };
  assert.ok(out.out instanceof Uint8Array);
  assert.deepEqual([...out.out], [9]);
  assert.deepEqual(client.stats(), { pending: 1, unmatched: 0, refused: 0, duplicates: 0 });
});

test("binary: true sends the binary way without bytes in the params; bytes come back in the result", async () => {
  const { transport, client } = binarySetup();
  const p = client.call("thumbnail", { path: "a.png" }, { binary: true });
  const none = client.call("latest", undefined, { binary: true });
  assert.deepEqual(transport.sent, []);
  assert.deepEqual(transport.binary.map((b) => [b.message, b.blobs.length]), [
    [{ type: "call", id: 1, method: "thumbnail", params: { path: "a.png" } }, 0],
    [{ type: "call", id: 2, method: "latest" }, 0],
  ]);
  const png = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  transport.replyBinary(1, { name: "a.png", png, sizes: [bytes(), bytes(1)] });
  transport.replyBinary(2, bytes(7, 7));
  const thumb = (await p) as { name: string; png: Uint8Array; sizes: Uint8Array[] };
  assert.equal(thumb.name, "a.png");
  assert.ok(Buffer.from(thumb.png).equals(Buffer.from(png)));
  assert.deepEqual(thumb.sizes.map((s) => [...s]), [[], [1]]);
  assert.deepEqual([...((await none) as Uint8Array)], [7, 7]);
  // binary: false does not turn detection off (the bytes would be mangled into JSON).
  void client.call("x", { data: bytes(1) }, { binary: false });
  assert.equal(transport.binary.length, 3);
});

test("a binary call settles once: a duplicate or late binary reply is ignored, a text reply settles it too", async () => {
  const { transport, client } = binarySetup();
  const p = client.call("m", { d: bytes(1) });
  transport.replyBinary(1, "first");
  transport.replyBinary(1, "second");
  transport.reply(1, "third");
  assert.equal(await p, "first");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 2, refused: 0, duplicates: 0 });
  const q = client.call("m", { d: bytes(1) });
  transport.reply(2, "as text"); // a host may answer without attachments
  assert.equal(await q, "as text");
  const r = client.call("m", { d: bytes(1) });
  transport.deliverBinary({ type: "call_result", id: 3, ok: false, error: { name: "Bad", code: "bad", message: "no", data: { $bin: 0 } } }, [bytes(1)]);
  await assert.rejects(r, (e: unknown) => code("bad", "Bad")(e) && JSON.stringify((e as InvokeError).data) === '{"$bin":0}');
  assert.equal(client.stats().pending, 0);
});

test("a binary reply naming a missing attachment rejects its call (internal), once", async () => {
  const { transport, client } = binarySetup();
  const p = client.call("m", undefined, { binary: true });
  transport.deliverBinary({ type: "call_result", id: 1, ok: true, result: { a: { $bin: 1 } } }, [bytes(1)]);
  await assert.rejects(p, (e: unknown) => code("internal")(e) && /malformed binary reply/.test((e as Error).message) && /names no attachment/.test((e as Error).message));
  transport.replyBinary(1, "late");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 1, refused: 0, duplicates: 0 });
});

test("binary calls honour timeout and abort: cancelled once, a late reply dropped quietly", async () => {
  const { transport, client } = binarySetup();
  const slow = client.call("slow", { d: bytes(1) }, { timeout: 10 });
  await assert.rejects(slow, code("timeout", "TimeoutError"));
  assert.deepEqual(transport.sent, [{ type: "cancel", id: 1 }]);
  transport.replyBinary(1, "late"); // the host answers the request anyway
  const ac = new AbortController();
  const aborted = client.call("slow", { d: bytes(1) }, { signal: ac.signal });
  ac.abort();
  await assert.rejects(aborted, code("cancelled", "AbortError"));
  assert.deepEqual(transport.sent, [{ type: "cancel", id: 1 }, { type: "cancel", id: 2 }]);
  transport.replyBinary(2, "late");
  const before = new AbortController();
  before.abort();
  await assert.rejects(client.call("slow", { d: bytes(1) }, { signal: before.signal }), code("cancelled"));
  assert.equal(transport.binary.length, 2, "an aborted call is never sent");
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  // A reply in time clears the timer: no cancel afterwards.
  const fast = client.call("fast", { d: bytes(1) }, { timeout: 20 });
  transport.replyBinary(4, "ok");
  assert.equal(await fast, "ok");
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(transport.sent.length, 2);
});

test("a sendBinary that throws rejects with disconnected; a lost connection rejects binary calls in flight", async () => {
  const { transport, client } = binarySetup();
  const inFlight = client.call("m", { d: bytes(1) });
  transport.failure = new Error("socket closed");
  await assert.rejects(client.call("m", { d: bytes(1) }), (e: unknown) => code("disconnected")(e) && /socket closed/.test((e as Error).message));
  transport.failure = undefined;
  transport.change("closed", "gone");
  await assert.rejects(inFlight, code("disconnected"));
  await assert.rejects(client.call("m", { d: bytes(1) }), code("disconnected"));
  assert.equal(client.stats().pending, 0);
});

test("a transport without sendBinary rejects binary calls cleanly (internal) and sends nothing", async () => {
  const { transport, client } = setup();
  for (const p of [client.call("checksum", { data: bytes(1) }), client.call("thumbnail", { path: "a" }, { binary: true, timeout: 1000 })]) {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof InvokeError && isInvokeError(e));
      assert.equal(e.code, "internal");
      assert.match(e.message, /carries no binary data/);
      return true;
    });
  }
  assert.deepEqual(transport.sent, []);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  // Ordinary calls still go.
  void client.call("m", { a: 1 });
  assert.equal(transport.sent.length, 1);
});

test("streams and calls with onItem never take the binary way", async () => {
  const { transport, client } = binarySetup();
  const items: unknown[] = [];
  void client.call("export", { data: bytes(1) }, { onItem: (i) => items.push(i), binary: true });
  const it = client.stream("watch", { data: bytes(2) })[Symbol.asyncIterator]();
  void it.next();
  assert.equal(transport.binary.length, 0);
  assert.deepEqual(transport.sent.map((m) => [m.type, (m as { method?: string }).method]), [
    ["call", "export"],
    ["call", "watch"],
  ]);
  await it.return?.();
});

test("binary data deeper than BINARY_SCAN_DEPTH is found only with binary: true", () => {
  const { transport, client } = binarySetup();
  let deep: unknown = bytes(1);
  for (let i = 0; i < BINARY_SCAN_DEPTH + 1; i++) deep = [deep];
  void client.call("m", deep);
  assert.equal(transport.binary.length, 0);
  void client.call("m", deep, { binary: true });
  assert.equal(transport.binary.length, 1);
  assert.equal(transport.binary[0].blobs.length, 1);
  let shallow: unknown = bytes(1);
  for (let i = 0; i < BINARY_SCAN_DEPTH; i++) shallow = [shallow];
  void client.call("m", shallow);
  assert.equal(transport.binary.length, 2);
});

test("other messages in a binary frame are delivered as text ones", () => {
  const { transport, client } = binarySetup();
  const got: unknown[] = [];
  client.on("tick", (p) => got.push(p));
  transport.deliverBinary({ type: "event", event: "tick", payload: 1 }, []);
  assert.deepEqual(got, [1]);
});

test("params whose getter throws still reject (the detection of bytes never throws out of call)", async () => {
  const params = {
    get boom(): unknown {
      throw new Error("getter");
    },
  };
  const transport = new FakeTransport();
  transport.send = (message: ClientMessage) => void JSON.stringify(message); // as a real transport serialises
  const plain = createClient(transport);
  let result: Promise<unknown> | undefined;
  assert.doesNotThrow(() => (result = plain.call("m", params)));
  await assert.rejects(result!, (e: unknown) => code("disconnected")(e) && /getter/.test((e as Error).message));
});
