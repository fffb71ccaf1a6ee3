// Streams and channels (docs/streams.md) on the client over a fake transport, through the
// generated-binding helpers and against the mock (node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  commandWithChannel,
  createAuroraView,
  createClient,
  InvokeError,
  mockAuroraView,
  streamWithoutParams,
  streamWithOptionalParams,
  streamWithParams,
  type ClientMessage,
  type HostMessage,
  type ItemStream,
  type StreamOptions,
  type Transport,
  type TransportSink,
  type TransportState,
} from "../src/index.js";

/** Records what the client sends; the test plays the host. */
class FakeTransport implements Transport {
  state: TransportState;
  readonly sent: ClientMessage[] = [];
  /** Called with every message the client sends, after it is recorded. */
  onSend: ((message: ClientMessage) => void) | undefined;
  private sink: TransportSink | undefined;
  constructor(state: TransportState = "open") {
    this.state = state;
  }
  attach(sink: TransportSink): void {
    this.sink = sink;
  }
  send(message: ClientMessage): void {
    this.sent.push(message);
    this.onSend?.(message);
  }
  deliver(...frames: HostMessage[]): void {
    this.sink!.receive(frames);
  }
  change(state: TransportState, reason?: string): void {
    this.state = state;
    this.sink!.setState(state, reason);
  }
  of(type: ClientMessage["type"]): ClientMessage[] {
    return this.sent.filter((m) => m.type === type);
  }
  acks(): number[] {
    return this.sent.flatMap((m) => (m.type === "ack" ? [m.seq] : []));
  }
}

function setup() {
  const transport = new FakeTransport();
  return { transport, client: createClient(transport) };
}

/** Item frames `from`..`to` of call `id`, the item being its seq unless `item` says otherwise. */
function items(id: number, from: number, to: number, item: (seq: number) => unknown = (seq) => seq): HostMessage[] {
  const frames: HostMessage[] = [];
  for (let seq = from; seq <= to; seq++) frames.push({ type: "item", id, seq, item: item(seq) });
  return frames;
}

const done = (id: number, result: unknown = null): HostMessage => ({ type: "call_result", id, ok: true, result });
const cancelledReply = (id: number): HostMessage => ({
  type: "call_result",
  id,
  ok: false,
  error: { name: "CancelledError", code: "cancelled", message: "the call was cancelled by the caller", data: null },
});

const code = (expected: string, name?: string) => (e: unknown) =>
  e instanceof InvokeError && e.code === expected && (name === undefined || e.name === name);

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const item of stream) got.push(item);
  return got;
}

test("a stream yields 100,000 items in order from a host that keeps its window, then ends at the call_result", async () => {
  const { transport, client } = setup();
  const total = 100_000;
  const WINDOW = 256;
  let sent = 0;
  let acked = 0;
  let taken = 0;
  /** The client's acks, each with how many items the loop had taken when it was sent. */
  const acks: Array<{ seq: number; taken: number }> = [];
  // The host: sends what the window allows, in batches, on the next turn after the call or an ack.
  const pump = (): void => {
    const upTo = Math.min(total, acked + WINDOW);
    if (sent < upTo) {
      const batch = items(1, sent + 1, upTo);
      sent = upTo;
      transport.deliver(...batch, ...(sent === total ? [done(1, "ignored")] : []));
    }
  };
  transport.onSend = (m) => {
    if (m.type === "ack") {
      acks.push({ seq: m.seq, taken });
      acked = m.seq;
    }
    if (m.type === "call" || m.type === "ack") setImmediate(pump);
  };
  let expected = 1;
  let inOrder = true;
  for await (const item of client.stream("count", { n: total })) {
    taken += 1;
    if (item !== expected++) inOrder = false;
  }
  assert.ok(inOrder);
  assert.equal(taken, total);
  assert.deepEqual(transport.of("call"), [{ type: "call", id: 1, method: "count", params: { n: total } }]);
  // An ack is sent from next(), before the loop's body sees the item it returns: never beyond what was taken.
  for (const ack of acks) assert.ok(ack.seq <= ack.taken + 1, JSON.stringify(ack));
  for (let i = 1; i < acks.length; i++) assert.ok(acks[i].seq > acks[i - 1].seq);
  // At least every 32 items taken; and not one per item (every 32, or when the loop waits).
  assert.ok(acks[0].seq <= 32);
  for (let i = 1; i < acks.length; i++) assert.ok(acks[i].seq - acks[i - 1].seq <= 32, JSON.stringify(acks.slice(i - 1, i + 1)));
  assert.ok(acks.length <= (2 * total) / 32, String(acks.length));
  assert.deepEqual(transport.of("cancel"), []);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("acks: every 32 items taken, one when waiting with nothing held, none for items only buffered or a consumer that stopped", async () => {
  const { transport, client } = setup();
  const it = client.stream("s")[Symbol.asyncIterator]();
  transport.deliver(...items(1, 1, 100));
  assert.deepEqual(transport.acks(), []); // buffered, not consumed
  for (let i = 1; i <= 31; i++) assert.deepEqual(await it.next(), { done: false, value: i });
  assert.deepEqual(transport.acks(), []);
  await it.next(); // 32
  assert.deepEqual(transport.acks(), [32]);
  for (let i = 33; i <= 100; i++) assert.equal((await it.next()).value, i);
  assert.deepEqual(transport.acks(), [32, 64, 96]); // 97..100 taken while items were held: no ack yet
  const waiting = it.next(); // nothing held: waits, and acknowledges what it took
  assert.deepEqual(transport.acks(), [32, 64, 96, 100]);
  transport.deliver(...items(1, 101, 400)); // 101 goes to the waiting next(), the rest is buffered
  assert.deepEqual(await waiting, { done: false, value: 101 });
  await tick();
  assert.deepEqual(transport.acks(), [32, 64, 96, 100]); // the consumer stopped reading: no more acks
  // Reading on: acks resume, 32 after the last one.
  for (let i = 102; i <= 131; i++) await it.next();
  assert.deepEqual(transport.acks(), [32, 64, 96, 100]);
  await it.next();
  assert.deepEqual(transport.acks(), [32, 64, 96, 100, 132]);
  transport.deliver(done(1));
  let n = 132;
  for (let r = await it.next(); !r.done; r = await it.next()) assert.equal(r.value, ++n);
  assert.equal(n, 400);
  // The call has ended: items read after its reply are not acknowledged (the host forgot it).
  assert.deepEqual(transport.acks(), [32, 64, 96, 100, 132]);
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("break cancels the call once, ends the loop, and what the host still sends for it is dropped quietly", async () => {
  const { transport, client } = setup();
  const got: unknown[] = [];
  const stream = client.stream("watch", { total: 10 });
  setImmediate(() => transport.deliver(...items(1, 1, 5)));
  for await (const item of stream) {
    got.push(item);
    if (item === 3) break;
  }
  assert.deepEqual(got, [1, 2, 3]);
  assert.deepEqual(transport.of("cancel"), [{ type: "cancel", id: 1 }]);
  assert.equal(client.stats().pending, 0);
  // Items in flight, then the host's `cancelled` reply: expected, not unmatched.
  transport.deliver(...items(1, 6, 8), cancelledReply(1));
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  // Once answered, the id is forgotten: a further reply is unmatched again.
  transport.deliver(done(1));
  assert.equal(client.stats().unmatched, 1);
  assert.equal(transport.of("cancel").length, 1);
});

test("return() settles once: a waiting next() ends, a second return() sends nothing", async () => {
  const { transport, client } = setup();
  const it = client.stream("s")[Symbol.asyncIterator]();
  const waiting = it.next();
  assert.deepEqual(await it.return!(), { done: true, value: undefined });
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.deepEqual(await it.return!(), { done: true, value: undefined });
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.deepEqual(transport.sent.map((m) => m.type), ["call", "cancel"]);
});

test("aborting a stream sends one cancel and throws AbortError at once, dropping what is buffered", async () => {
  const { transport, client } = setup();
  const controller = new AbortController();
  const got: unknown[] = [];
  setImmediate(() => {
    transport.deliver(...items(1, 1, 3));
    controller.abort(); // while 2 and 3 are still buffered
    controller.abort();
  });
  await assert.rejects(async () => {
    for await (const item of client.stream("s", undefined, { signal: controller.signal })) {
      got.push(item);
      await tick();
    }
  }, code("cancelled", "AbortError"));
  assert.deepEqual(got, [1]);
  assert.deepEqual(transport.of("cancel"), [{ type: "cancel", id: 1 }]);
  transport.deliver(cancelledReply(1));
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("aborting while the loop waits rejects that next(); after the host's end the signal still stops the loop", async () => {
  const { transport, client } = setup();
  const controller = new AbortController();
  const it = client.stream("s", undefined, { signal: controller.signal })[Symbol.asyncIterator]();
  const waiting = it.next();
  controller.abort();
  await assert.rejects(waiting, code("cancelled", "AbortError"));
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.equal(transport.of("cancel").length, 1);

  // The host answered, items are still buffered: aborting drops them, with no cancel to send.
  const second = new AbortController();
  const it2 = client.stream("s", undefined, { signal: second.signal })[Symbol.asyncIterator]();
  transport.deliver(...items(2, 1, 3), done(2));
  assert.equal((await it2.next()).value, 1);
  second.abort();
  await assert.rejects(it2.next(), code("cancelled", "AbortError"));
  assert.equal(transport.of("cancel").length, 1);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("a timeout cancels the stream once and throws TimeoutError; a finished loop clears its timer", async () => {
  const { transport, client } = setup();
  const got: unknown[] = [];
  setImmediate(() => transport.deliver(...items(1, 1, 2)));
  await assert.rejects(async () => {
    for await (const item of client.stream("slow", undefined, { timeout: 30 })) got.push(item);
  }, code("timeout", "TimeoutError"));
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(transport.of("cancel"), [{ type: "cancel", id: 1 }]);
  assert.equal(client.stats().pending, 0);

  const fast = client.stream("fast", undefined, { timeout: 20 });
  setImmediate(() => transport.deliver(...items(2, 1, 1), done(2)));
  assert.deepEqual(await collect(fast), [1]);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(transport.of("cancel").length, 1);
});

test("a for await after the signal is aborted throws at once and sends nothing", async () => {
  const { transport, client } = setup();
  const controller = new AbortController();
  controller.abort();
  const stream = client.stream("s", {}, { signal: controller.signal });
  await assert.rejects(collect(stream), code("cancelled", "AbortError"));
  assert.deepEqual(transport.sent, []);
  assert.equal(client.stats().pending, 0);
});

test("an error result is thrown after the items received before it, with its structured shape", async () => {
  const { transport, client } = setup();
  const got: unknown[] = [];
  const stream = client.stream("s");
  setImmediate(() =>
    transport.deliver(...items(1, 1, 3), {
      type: "call_result",
      id: 1,
      ok: false,
      error: { name: "DiskFull", code: "disk_full", message: "no space", data: { free: 0 } },
    }),
  );
  await assert.rejects(
    async () => {
      for await (const item of stream) got.push(item);
    },
    (e: unknown) => e instanceof InvokeError && e.name === "DiskFull" && e.code === "disk_full" && e.message === "no space" && (e.data as { free: number }).free === 0,
  );
  assert.deepEqual(got, [1, 2, 3]);
  assert.deepEqual(transport.of("cancel"), []);
});

test("a gap in the sequence ends the stream with an internal error after the good items and cancels the call", async () => {
  const { transport, client } = setup();
  const got: unknown[] = [];
  setImmediate(() => transport.deliver(...items(1, 1, 2), ...items(1, 4, 5), done(1)));
  await assert.rejects(
    async () => {
      for await (const item of client.stream("s")) got.push(item);
    },
    (e: unknown) => code("internal")(e) && /item 4 of call 1 \(s\) arrived after item 2/.test((e as Error).message),
  );
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(transport.of("cancel"), [{ type: "cancel", id: 1 }]);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });

  // A first item that is not seq 1 is a gap as well; so is a seq that is not a number.
  const first = client.stream("t")[Symbol.asyncIterator]();
  transport.deliver({ type: "item", id: 2, seq: 2, item: "x" });
  await assert.rejects(first.next(), (e: unknown) => code("internal")(e) && /first item/.test((e as Error).message));
  const odd = client.stream("u")[Symbol.asyncIterator]();
  transport.deliver({ type: "item", id: 3, seq: "1" as unknown as number, item: "x" });
  await assert.rejects(odd.next(), code("internal"));
  assert.equal(transport.of("cancel").length, 3);
});

test("losing the connection ends streams and channel calls in flight with disconnected, after the buffered items", async () => {
  const { transport, client } = setup();
  const it = client.stream("s")[Symbol.asyncIterator]();
  const channelItems: unknown[] = [];
  const channel = client.call("export", {}, { onItem: (item) => channelItems.push(item) });
  transport.deliver(...items(1, 1, 2), ...items(2, 1, 1));
  transport.change("connecting", "reconnecting");
  assert.equal(client.stats().pending, 0);
  await assert.rejects(channel, code("disconnected", "Disconnected"));
  assert.deepEqual(channelItems, [1]);
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  assert.deepEqual(await it.next(), { done: false, value: 2 });
  await assert.rejects(it.next(), (e: unknown) => code("disconnected")(e) && /reconnecting/.test((e as Error).message));
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.deepEqual(transport.of("cancel"), []); // that host forgot them already
  // A stream started while closed throws at once.
  transport.change("closed");
  await assert.rejects(collect(client.stream("s")), code("disconnected"));
});

test("an ItemStream iterated twice makes two calls; nothing is sent before iteration starts", async () => {
  const { transport, client } = setup();
  const stream = client.stream("s", { n: 1 });
  assert.deepEqual(transport.sent, []);
  const a = collect(stream);
  const b = collect(stream);
  assert.deepEqual(transport.of("call"), [
    { type: "call", id: 1, method: "s", params: { n: 1 } },
    { type: "call", id: 2, method: "s", params: { n: 1 } },
  ]);
  transport.deliver(...items(2, 1, 2, (seq) => "b" + seq), ...items(1, 1, 1, () => "a"), done(1), done(2));
  assert.deepEqual(await a, ["a"]);
  assert.deepEqual(await b, ["b1", "b2"]);
  assert.ok(Object.isFrozen(stream));
});

test("a channel call: items to onItem in order before the promise settles, one ack per batch", async (t) => {
  const { transport, client } = setup();
  const errors = t.mock.method(console, "error", () => {});
  const seen: unknown[] = [];
  const p = client.call("export", { path: "/x" }, {
    onItem: (item) => {
      seen.push(item);
      if (item === 3) throw new Error("a throwing callback");
    },
  });
  void p.then(() => seen.push("settled"));
  assert.deepEqual(transport.sent, [{ type: "call", id: 1, method: "export", params: { path: "/x" } }]);
  transport.deliver(...items(1, 1, 100));
  assert.deepEqual(transport.acks(), [100]); // one ack for the batch, not one per item
  assert.equal(errors.mock.callCount(), 1);
  assert.match(String(errors.mock.calls[0].arguments[0]), /onItem of "export" threw/);
  transport.deliver(...items(1, 101, 101));
  transport.deliver(...items(1, 102, 103), done(1, "/x"));
  assert.equal(await p, "/x");
  assert.deepEqual(seen.slice(-4), [101, 102, 103, "settled"]);
  assert.equal(seen.length, 104);
  // The last batch ended the call: no ack for a call the host no longer has.
  assert.deepEqual(transport.acks(), [100, 101]);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("a channel call: a gap rejects it (internal) and cancels it; abort and timeout cancel as calls do, replies dropped quietly", async () => {
  const { transport, client } = setup();
  const gapped = client.call("export", {}, { onItem: () => {} });
  transport.deliver(...items(1, 1, 1), ...items(1, 3, 3));
  await assert.rejects(gapped, code("internal"));
  const controller = new AbortController();
  const aborted = client.call("export", {}, { onItem: () => {}, signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, code("cancelled", "AbortError"));
  const timed = client.call("export", {}, { onItem: () => {}, timeout: 5 });
  await assert.rejects(timed, code("timeout", "TimeoutError"));
  assert.deepEqual(transport.of("cancel"), [
    { type: "cancel", id: 1 },
    { type: "cancel", id: 2 },
    { type: "cancel", id: 3 },
  ]);
  transport.deliver(...items(3, 1, 2), cancelledReply(1), cancelledReply(2), cancelledReply(3));
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  // Item 1 of the first was taken, but the gap in the same batch ended the call: no ack.
  assert.deepEqual(transport.acks(), []);
});

test("a plain call of a stream command drops its items, acknowledging them, and settles with its result", async () => {
  const { transport, client } = setup();
  const p = client.call("watch");
  transport.deliver(...items(1, 1, 10));
  assert.deepEqual(transport.acks(), [10]);
  transport.deliver(done(1));
  assert.equal(await p, null);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  // Items of no call in flight are counted as unmatched.
  transport.deliver(...items(42, 1, 1));
  assert.equal(client.stats().unmatched, 1);
});

test("cancelled ids are remembered until their reply, at most 1024, and forgotten when the connection drops", async () => {
  const { transport, client } = setup();
  for (let i = 0; i < 1030; i++) await client.stream("s")[Symbol.asyncIterator]().return!();
  assert.equal(transport.of("cancel").length, 1030);
  // The first 6 were pushed out by later ones: their replies count as unmatched.
  transport.deliver(...[1, 2, 3, 4, 5, 6, 7, 1030].map(cancelledReply));
  assert.equal(client.stats().unmatched, 6);
  // A drop forgets the rest: no reply is coming from that host.
  transport.change("connecting");
  transport.change("open");
  transport.deliver(cancelledReply(8));
  assert.equal(client.stats().unmatched, 7);
});

test("builtins replaced after load never see a stream's items or its state", async () => {
  const { transport, client } = setup();
  const it = client.stream("s")[Symbol.asyncIterator]();
  const secret = (seq: number) => ({ secret: seq });
  transport.deliver(...items(1, 1, 3, secret));
  const saved = { push: Array.prototype.push, set: Map.prototype.set, get: Map.prototype.get, Promise: globalThis.Promise };
  const grabbed: unknown[] = [null]; // index 0 its own: the setter below does not apply to it
  const grab = (value: unknown): void => void saved.push.call(grabbed, value);
  const pending: Array<Promise<IteratorResult<unknown>>> = [];
  let channel: Promise<unknown> | undefined;
  const channelItems: unknown[] = [null]; // index 0 its own, as `grabbed`
  try {
    Object.defineProperty(Array.prototype, "0", {
      configurable: true,
      set(v: unknown) {
        grab(v);
        Object.defineProperty(this, "0", { value: v, writable: true, enumerable: true, configurable: true });
      },
    });
    Object.defineProperty(Object.prototype, "then", {
      configurable: true,
      writable: true,
      value: function (this: unknown) {
        grab(this);
      },
    });
    Array.prototype.push = function (this: unknown[], ...args: unknown[]) {
      for (const arg of args) grab(arg);
      return saved.push.apply(this, args);
    };
    Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
      grab(v);
      return saved.set.call(this, k, v);
    };
    Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) {
      const v = saved.get.call(this, k);
      grab(v);
      return v;
    };
    globalThis.Promise = class extends saved.Promise<unknown> {
      constructor(executor: (res: (v: unknown) => void, rej: (e: unknown) => void) => void) {
        super((res, rej) => {
          grab(res);
          executor(res, rej);
        });
      }
    } as PromiseConstructor;
    for (let i = 0; i < 4; i++) saved.push.call(pending, it.next()); // the fourth waits
    transport.deliver(...items(1, 4, 4, secret), done(1));
    channel = client.call("c", undefined, { onItem: (item) => saved.push.call(channelItems, item) });
    transport.deliver(...items(2, 1, 2, secret), done(2, secret(0)));
  } finally {
    delete (Array.prototype as unknown as Record<string, unknown>)["0"];
    delete (Object.prototype as Record<string, unknown>).then;
    Array.prototype.push = saved.push;
    Map.prototype.set = saved.set;
    Map.prototype.get = saved.get;
    globalThis.Promise = saved.Promise;
  }
  const isSecret = (g: unknown): boolean =>
    typeof g === "function" || (typeof g === "object" && g !== null && ("secret" in g || "value" in g || "resolve" in g));
  assert.deepEqual(grabbed.filter(isSecret), []);
  assert.deepEqual(
    (await Promise.all(pending)).map((r) => r.value),
    [1, 2, 3, 4].map(secret),
  );
  assert.deepEqual(await it.next(), { done: true, value: undefined });
  assert.deepEqual(await channel, secret(0));
  assert.deepEqual(channelItems.slice(1), [secret(1), secret(2)]);
});

// Generated-binding helpers and the mock.

test("the stream and channel helpers call the backend active when they run", async () => {
  const watch = streamWithParams<{ total: number }, { done: number }>("watch");
  const page = streamWithOptionalParams<{ from?: number }, number>("page");
  const ticks = streamWithoutParams<string>("ticks");
  const exportFile = commandWithChannel<{ path: string; progress: (p: number) => void }, string>("export", "progress");
  const onlyChannel = commandWithChannel<{ progress: (p: number) => void }, null>("only", "progress");
  const params: unknown[] = [];
  const mock = mockAuroraView({
    watch: function* (p: { total: number }) {
      for (let done = 1; done <= p.total; done++) yield { done };
    },
    page: async function* (p: { from?: number } | undefined) {
      params.push(p);
      yield (p?.from ?? 0) + 1;
    },
    ticks: (p: unknown) => {
      params.push(p);
      return ["any", "iterable"]; // iterated with stream(): served as items
    },
    export: async (p: { path: string }, send: (item: unknown) => void) => {
      params.push(p);
      send(1);
      await tick();
      send(2);
      return p.path;
    },
    only: (p: unknown, send: (item: unknown) => void) => {
      params.push(p);
      send("x");
      return null;
    },
  });
  createAuroraView(mock);
  assert.deepEqual(await collect(watch({ total: 3 })), [{ done: 1 }, { done: 2 }, { done: 3 }]);
  assert.deepEqual(await collect(page()), [1]);
  assert.deepEqual(await collect(page({ from: 4 })), [5]);
  assert.deepEqual(await collect(ticks()), ["any", "iterable"]);
  const progress: number[] = [];
  assert.equal(await exportFile({ path: "/x", progress: (p) => progress.push(p) }), "/x");
  assert.deepEqual(progress, [1, 2]);
  assert.equal(await onlyChannel({ progress: () => {} }), null);
  // The channel is not part of what is sent.
  assert.deepEqual(params, [undefined, { from: 4 }, undefined, { path: "/x" }, {}]);
  // Options reach the call.
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(collect(watch({ total: 1 }, { signal: controller.signal })), code("cancelled"));
  await assert.rejects(exportFile({ path: "/y", progress: () => {} }, { signal: controller.signal }), code("cancelled"));
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("typing: streamWithParams<{ n: number }, string> iterates strings", async () => {
  const strings = streamWithParams<{ n: number }, string>("x");
  createAuroraView(
    mockAuroraView({
      x: function* (p: { n: number }) {
        yield "s" + p.n;
      },
    }),
  );
  const stream: ItemStream<string> = strings({ n: 1 });
  const options: StreamOptions = { timeout: 1000 };
  const got: string[] = [];
  for await (const s of strings({ n: 2 }, options)) {
    got.push(s.toUpperCase());
    // @ts-expect-error an item is a string
    const n: number = s;
    void n;
  }
  // @ts-expect-error params are required and typed
  void strings({ n: "1" });
  assert.deepEqual(got, ["S2"]);
  assert.deepEqual(await collect(stream), ["s1"]);
});

test("mock streams: sync and async generators, async iterables, arrays when iterated, an error mid-way, and a window it keeps", async () => {
  let produced = 0;
  let closed = 0;
  const mock = mockAuroraView({
    count: function* (p: { n: number }) {
      for (let i = 0; i < p.n; i++) yield i;
    },
    agen: async function* () {
      yield "a";
      await tick();
      yield "b";
    },
    iterable: () => ({
      [Symbol.asyncIterator]: async function* () {
        yield 1;
      },
    }),
    fails: async function* () {
      yield 1;
      yield 2;
      throw new InvokeError({ name: "Broke", code: "broke", message: "mid-way", data: { at: 3 } });
    },
    endless: function* () {
      try {
        for (;;) yield ++produced;
      } finally {
        closed += 1;
      }
    },
    array: () => [1, 2],
  });
  const many = await collect(mock.stream("count", { n: 2000 }));
  assert.equal(many.length, 2000);
  assert.ok(many.every((v, i) => v === i));
  assert.deepEqual(await collect(mock.stream("agen")), ["a", "b"]);
  assert.deepEqual(await collect(mock.stream("iterable")), [1]);
  const got: unknown[] = [];
  await assert.rejects(
    async () => {
      for await (const item of mock.stream("fails")) got.push(item);
    },
    (e: unknown) => code("broke", "Broke")(e) && (e as InvokeError).message === "mid-way",
  );
  assert.deepEqual(got, [1, 2]);
  // Called rather than iterated: an array is a result; a generator's items are dropped, the result is null.
  assert.deepEqual(await mock.call("array"), [1, 2]);
  assert.deepEqual(await collect(mock.stream("array")), [1, 2]);
  assert.equal(await mock.call("count", { n: 3 }), null);

  // A consumer that takes 10 items and stops reading: the generator runs at most a window ahead.
  const it = mock.stream("endless")[Symbol.asyncIterator]();
  for (let i = 1; i <= 10; i++) assert.equal((await it.next()).value, i);
  for (let i = 0; i < 20; i++) await tick();
  assert.ok(produced >= 10 && produced <= 10 + 256 + 1, String(produced));
  const stalled = produced;
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(produced, stalled);
  assert.equal(closed, 0);
  await it.return!(); // cancels: the generator is closed, its finally runs
  await tick();
  assert.equal(closed, 1);
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("mock: break out of a stream closes its async generator; a channel's send after the call ended throws", async () => {
  let closed = false;
  let lateSend: ((item: unknown) => void) | undefined;
  const mock = mockAuroraView({
    watch: async function* () {
      try {
        for (let i = 1; ; i++) {
          yield i;
          await tick();
        }
      } finally {
        closed = true;
      }
    },
    export: (_p: unknown, send: (item: unknown) => void) => {
      lateSend = send;
      send("first");
      return "done";
    },
  });
  const got: unknown[] = [];
  for await (const item of mock.stream("watch")) {
    got.push(item);
    if (item === 3) break;
  }
  assert.deepEqual(got, [1, 2, 3]);
  for (let i = 0; i < 5 && !closed; i++) await tick();
  assert.equal(closed, true);
  const items: unknown[] = [];
  assert.equal(await mock.call("export", {}, { onItem: (i) => items.push(i) }), "done");
  assert.deepEqual(items, ["first"]);
  assert.throws(() => lateSend!("late"), /ChannelClosed/);
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});
