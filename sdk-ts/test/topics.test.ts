// Topics (docs/topics.md) on the client: over a fake transport (the test plays the host),
// over the network transport with a fake WebSocket (a reconnection), and against the mock.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import {
  connectAuroraView,
  createAuroraView,
  createClient,
  InvokeError,
  mockAuroraView,
  pubSubTopic,
  publishTopic,
  subscribeTopic,
  type ClientMessage,
  type HostMessage,
  type Publication,
  type RecoveryInfo,
  type Transport,
  type TransportSink,
  type TransportState,
  type WebSocketConstructor,
} from "../src/index.js";

/** Records what the client sends; the test plays the host. */
class FakeTransport implements Transport {
  state: TransportState;
  readonly sent: ClientMessage[] = [];
  /** Throw on send (a network transport while reconnecting). */
  refuse = false;
  private sink: TransportSink | undefined;
  constructor(state: TransportState = "open") {
    this.state = state;
  }
  attach(sink: TransportSink): void {
    this.sink = sink;
  }
  send(message: ClientMessage): void {
    if (this.refuse) throw new Error("reconnecting to the server");
    this.sent.push(message);
  }
  deliver(...frames: HostMessage[]): void {
    this.sink!.receive(frames);
  }
  change(state: TransportState, reason?: string): void {
    this.state = state;
    this.sink!.setState(state, reason);
  }
  /** The calls sent, as `[id, method, params]`. */
  calls(): Array<[unknown, string, unknown]> {
    return this.sent.flatMap((m) => (m.type === "call" ? [[m.id, m.method, m.params] as [unknown, string, unknown]] : []));
  }
  /** The id of the last call of `method`. */
  last(method: string): number {
    const found = this.calls().filter(([, m]) => m === method);
    assert.ok(found.length > 0, `no ${method} sent`);
    return found[found.length - 1][0] as number;
  }
}

function setup() {
  const transport = new FakeTransport();
  return { transport, client: createClient(transport) };
}

const ok = (id: number, result: unknown): HostMessage => ({ type: "call_result", id, ok: true, result });
const err = (id: number, name: string, code: string, message = "no"): HostMessage => ({
  type: "call_result",
  id,
  ok: false,
  error: { name, code, message, data: null },
});
const pub = (topic: string, epoch: string, offset: number, data: unknown = offset): HostMessage => ({ type: "publication", topic, epoch, offset, data });
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A log of everything a subscriber is told, in order. */
function recorder() {
  const log: unknown[] = [];
  return {
    log,
    handler: (data: unknown, p: Publication) => void log.push(["msg", data, p.epoch, p.offset]),
    onRecovery: (info: RecoveryInfo) => void log.push(["recovery", info.recovered, info.reason, info.epoch, info.offset]),
    onError: (e: Error) => void log.push(["error", (e as InvokeError).code]),
  };
}

test("a subscription: one subscribe call, ready with the position, then every publication in order with its offset", async () => {
  const { transport, client } = setup();
  const r = recorder();
  const sub = client.subscribe("scene/updates", r.handler, r);
  assert.equal(sub.topic, "scene/updates");
  assert.deepEqual(transport.calls(), [[1, "auroraview.subscribe", { topic: "scene/updates" }]]);
  // The answer and the publications after it in one batch: all delivered, in order.
  transport.deliver(ok(1, { epoch: "e1", offset: 41 }), pub("scene/updates", "e1", 42, { node: "a" }), pub("scene/updates", "e1", 43, { node: "b" }));
  assert.deepEqual({ ...(await sub.ready) }, { epoch: "e1", offset: 41 });
  transport.deliver(pub("scene/updates", "e1", 44, { node: "c" }));
  assert.deepEqual(r.log, [
    ["msg", { node: "a" }, "e1", 42],
    ["msg", { node: "b" }, "e1", 43],
    ["msg", { node: "c" }, "e1", 44],
  ]);
  // At or below what was delivered: dropped and counted, never delivered twice.
  transport.deliver(pub("scene/updates", "e1", 43), pub("scene/updates", "e1", 44));
  assert.equal(r.log.length, 3);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 2 });
  // A topic nobody here subscribed to is unmatched.
  transport.deliver(pub("other", "e1", 1));
  assert.equal(client.stats().unmatched, 1);
});

test("local subscribers share one wire subscription; the last unsubscribe ends it, and nothing is delivered after", async () => {
  const { transport, client } = setup();
  const a = recorder();
  const b = recorder();
  const first = client.subscribe("t", a.handler);
  const second = client.subscribe("t", b.handler); // joins the subscribe in flight
  transport.deliver(ok(1, { epoch: "e", offset: 0 }));
  assert.deepEqual({ ...(await first.ready) }, { epoch: "e", offset: 0 });
  assert.deepEqual({ ...(await second.ready) }, { epoch: "e", offset: 0 });
  transport.deliver(pub("t", "e", 1));
  const third = client.subscribe("t", () => {}); // live already: starts from the current position
  assert.deepEqual({ ...(await third.ready) }, { epoch: "e", offset: 1 });
  assert.equal(transport.calls().length, 1, "one wire subscription");
  await first.unsubscribe();
  await third.unsubscribe();
  assert.equal(transport.calls().length, 1, "others remain: nothing on the wire");
  transport.deliver(pub("t", "e", 2));
  assert.deepEqual(a.log, [["msg", 1, "e", 1]]);
  assert.deepEqual(b.log, [["msg", 1, "e", 1], ["msg", 2, "e", 2]]);
  let left = false;
  const leaving = second.unsubscribe().then(() => (left = true));
  assert.deepEqual(transport.calls()[1], [2, "auroraview.unsubscribe", { topic: "t" }]);
  transport.deliver(pub("t", "e", 3)); // in flight before the host took the unsubscribe: dropped
  await tick();
  assert.equal(left, false, "resolves on the host's answer");
  transport.deliver(ok(2, null));
  await leaving;
  assert.deepEqual(b.log.length, 2);
  await second.unsubscribe(); // twice: nothing more
  assert.equal(transport.calls().length, 2);
  assert.deepEqual(client.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("subscribe errors reject ready with the host's InvokeError and the handler is never called", async () => {
  const { transport, client } = setup();
  let called = 0;
  for (const [i, [name, code]] of [["Forbidden", "forbidden"], ["UnknownTopic", "unknown_topic"], ["ValidationError", "invalid_params"]].entries()) {
    const sub = client.subscribe(`t${i}`, () => void called++);
    transport.deliver(err(i + 1, name, code, `refused ${code}`));
    await assert.rejects(sub.ready, (e: unknown) => e instanceof InvokeError && e.code === code && e.name === name && e.message === `refused ${code}`);
    transport.deliver(pub(`t${i}`, "e", 1));
    await sub.unsubscribe(); // nothing to end
  }
  assert.equal(called, 0);
  assert.equal(transport.calls().length, 3, "no unsubscribe for a subscription that never was");
  // The topic is free again: a new subscribe goes on the wire.
  client.subscribe("t0", () => void called++);
  assert.deepEqual(transport.calls()[3], [4, "auroraview.subscribe", { topic: "t0" }]);
  assert.throws(() => client.subscribe(3 as unknown as string, () => {}), TypeError);
  assert.throws(() => client.subscribe("t", undefined as unknown as () => void), TypeError);
});

test("a publication that skips offsets is delivered after onRecovery says which never arrived", async () => {
  const { transport, client } = setup();
  const r = recorder();
  client.subscribe("t", r.handler, r);
  transport.deliver(ok(1, { epoch: "e", offset: 5 }), pub("t", "e", 6), pub("t", "e", 9), pub("t", "e", 11));
  assert.deepEqual(r.log, [
    ["msg", 6, "e", 6],
    ["recovery", false, "offsets 7 to 8 never arrived", "e", 8],
    ["msg", 9, "e", 9],
    ["recovery", false, "offset 10 never arrived", "e", 10],
    ["msg", 11, "e", 11],
  ]);
});

test("a reconnection resubscribes with since: recovered replays are deduplicated, recovered:false comes before newer messages", async () => {
  const { transport, client } = setup();
  const r = recorder();
  const sub = client.subscribe("t", r.handler, r);
  const other = recorder();
  client.subscribe("u", other.handler, other);
  transport.deliver(ok(1, { epoch: "e1", offset: 0 }), ok(2, { epoch: "e1", offset: 10 }), pub("t", "e1", 1), pub("t", "e1", 2), pub("u", "e1", 11));
  await sub.ready;

  // Lost; while reconnecting the transport refuses sends: nothing is lost, nothing resent early.
  transport.change("connecting", "connection lost");
  transport.refuse = true;
  const late = client.subscribe("v", () => {}); // made while reconnecting: goes out once open
  transport.refuse = false;
  transport.change("open");
  const resent = transport.calls().slice(2);
  assert.deepEqual(
    resent.map(([, m, p]) => [m, p]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    [
      ["auroraview.subscribe", { topic: "t", since: { epoch: "e1", offset: 2 } }],
      ["auroraview.subscribe", { topic: "u", since: { epoch: "e1", offset: 11 } }],
      ["auroraview.subscribe", { topic: "v" }],
    ],
  );
  const idOf = (topic: string) => resent.find(([, , p]) => (p as { topic: string }).topic === topic)![0] as number;
  // `t` recovered: the host replays from offset 3, but a duplicate 2 (say) is dropped.
  transport.deliver(ok(idOf("t"), { epoch: "e1", offset: 4, recovered: true }), pub("t", "e1", 2), pub("t", "e1", 3), pub("t", "e1", 4));
  // `u` could not be recovered: told first, then only newer messages.
  transport.deliver(ok(idOf("u"), { epoch: "e2", offset: 3, recovered: false, reason: "the epoch changed" }), pub("u", "e2", 4));
  transport.deliver(ok(idOf("v"), { epoch: "e2", offset: 0 }));
  assert.deepEqual({ ...(await late.ready) }, { epoch: "e2", offset: 0 });
  assert.deepEqual(r.log, [
    ["msg", 1, "e1", 1],
    ["msg", 2, "e1", 2],
    ["recovery", true, undefined, "e1", 2],
    ["msg", 3, "e1", 3],
    ["msg", 4, "e1", 4],
  ]);
  assert.deepEqual(other.log, [
    ["msg", 11, "e1", 11],
    ["recovery", false, "the epoch changed", "e2", 3],
    ["msg", 4, "e2", 4],
  ]);
  assert.equal(client.stats().duplicates, 1);

  // A subscribe in flight when the connection drops is sent again (without since) once open.
  const fresh = client.subscribe("w", () => {});
  const before = transport.calls().length;
  transport.change("connecting");
  transport.change("open");
  const again = transport.calls().slice(before);
  assert.ok(again.some(([, m, p]) => m === "auroraview.subscribe" && JSON.stringify(p) === '{"topic":"w"}'), JSON.stringify(again));
  transport.deliver(ok(again.find(([, , p]) => (p as { topic: string }).topic === "w")![0] as number, { epoch: "e2", offset: 7 }));
  assert.equal((await fresh.ready).offset, 7);
});

test("a resubscription answer without recovered, or with a new epoch, counts as not recovered", async () => {
  const { transport, client } = setup();
  const r = recorder();
  client.subscribe("t", r.handler, r);
  transport.deliver(ok(1, { epoch: "e1", offset: 3 }));
  transport.change("connecting");
  transport.change("open");
  transport.deliver(ok(2, { epoch: "e9", offset: 0 }), pub("t", "e9", 1));
  assert.deepEqual(r.log, [
    ["recovery", false, "the topic's epoch changed (e1 → e9): the host restarted", "e9", 0],
    ["msg", 1, "e9", 1],
  ]);
});

test("a refused resubscription ends the subscription through onError; a closed connection too", async () => {
  const { transport, client } = setup();
  const r = recorder();
  const s = recorder();
  client.subscribe("t", r.handler, r);
  client.subscribe("s", s.handler, s);
  transport.deliver(ok(1, { epoch: "e", offset: 0 }), ok(2, { epoch: "e", offset: 0 }));
  transport.change("connecting");
  transport.change("open");
  transport.deliver(err(3, "Forbidden", "forbidden"), pub("t", "e", 1));
  assert.deepEqual(r.log, [["error", "forbidden"]]);
  const pending = client.subscribe("p", () => {});
  transport.change("closed", "bye");
  assert.deepEqual(s.log, [["error", "disconnected"]]);
  await assert.rejects(pending.ready, (e: unknown) => e instanceof InvokeError && e.code === "disconnected");
  await assert.rejects(client.subscribe("q", () => {}).ready, (e: unknown) => e instanceof InvokeError && e.code === "disconnected");
});

test("unsubscribing before the answer: ready rejects (cancelled), the wire unsubscribe follows the answer", async () => {
  const { transport, client } = setup();
  let called = 0;
  const sub = client.subscribe("t", () => void called++);
  let left = false;
  const leaving = sub.unsubscribe().then(() => (left = true));
  await assert.rejects(sub.ready, (e: unknown) => e instanceof InvokeError && e.code === "cancelled");
  assert.equal(transport.calls().length, 1);
  transport.deliver(ok(1, { epoch: "e", offset: 0 }), pub("t", "e", 1));
  assert.deepEqual(transport.calls()[1], [2, "auroraview.unsubscribe", { topic: "t" }]);
  await tick();
  assert.equal(left, false);
  // A subscriber arriving while the unsubscribe is on its way: a fresh subscription once it is answered.
  const again = client.subscribe("t", () => void called++);
  transport.deliver(ok(2, null));
  await leaving;
  assert.deepEqual(transport.calls()[2], [3, "auroraview.subscribe", { topic: "t" }]);
  transport.deliver(ok(3, { epoch: "e", offset: 1 }), pub("t", "e", 2));
  assert.equal((await again.ready).offset, 1);
  assert.equal(called, 1);
});

test("publish is a call of auroraview.publish resolving with the offset; its errors reject", async () => {
  const { transport, client } = setup();
  const done = client.publish("chat/lobby", { text: "hi" });
  assert.deepEqual(transport.calls(), [[1, "auroraview.publish", { topic: "chat/lobby", data: { text: "hi" } }]]);
  transport.deliver(ok(1, { epoch: "e", offset: 7 }));
  assert.deepEqual(await done, { epoch: "e", offset: 7 });
  const bad = client.publish("chat/lobby", 3, { timeout: 1000 });
  transport.deliver(err(2, "ValidationError", "invalid_params"));
  await assert.rejects(bad, (e: unknown) => e instanceof InvokeError && e.code === "invalid_params");
});

test("handlers that throw are logged and do not stop the others; a handler may unsubscribe another", async () => {
  const { transport, client } = setup();
  const seen: string[] = [];
  const errors: unknown[] = [];
  const saved = console.error;
  console.error = (...args: unknown[]) => void errors.push(args[0]);
  try {
    let second: { unsubscribe(): Promise<void> } | undefined = undefined;
    client.subscribe("t", () => {
      seen.push("a");
      void second?.unsubscribe();
      throw new Error("boom");
    });
    second = client.subscribe("t", () => void seen.push("b"));
    transport.deliver(ok(1, { epoch: "e", offset: 0 }), pub("t", "e", 1), pub("t", "e", 2));
  } finally {
    console.error = saved;
  }
  assert.deepEqual(seen, ["a", "a"]);
  assert.equal(errors.length, 2);
});

test("builtins replaced after the SDK loaded never see a topic's handler, payload or answer", async () => {
  const { transport, client } = setup();
  const grabbed: unknown[] = [];
  const saved = { get: Map.prototype.get, set: Map.prototype.set, keys: Object.keys, floor: Math.floor };
  const got: unknown[] = [];
  const handler = (data: unknown): void => void got.push(data);
  const recoveries: RecoveryInfo[] = [];
  try {
    Map.prototype.get = function (this: Map<unknown, unknown>, k: unknown) {
      const v = saved.get.call(this, k);
      grabbed.push(v);
      return v;
    };
    Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
      grabbed.push(v);
      return saved.set.call(this, k, v);
    };
    Object.keys = ((o: object) => (grabbed.push(o), saved.keys(o))) as typeof Object.keys;
    (Object.prototype as { recovered?: unknown }).recovered = true;
    client.subscribe("t", handler, { onRecovery: (i) => void recoveries.push(i) });
    transport.deliver(ok(1, { epoch: "e", offset: 0 }), pub("t", "e", 1, "secret"));
    transport.change("connecting");
    transport.change("open");
    // No own `recovered`: the inherited one must not make it count as recovered.
    transport.deliver(ok(2, { epoch: "e", offset: 5 }), pub("t", "e", 6, "later"));
  } finally {
    Map.prototype.get = saved.get;
    Map.prototype.set = saved.set;
    Object.keys = saved.keys;
    delete (Object.prototype as { recovered?: unknown }).recovered;
  }
  assert.deepEqual(grabbed.filter((g) => g !== undefined), []);
  assert.deepEqual(got, ["secret", "later"]);
  assert.deepEqual(recoveries.map((i) => [i.recovered, i.offset]), [[false, 5]]);
});

// ── Over the network transport, with a fake WebSocket: the reconnection as the client sees it.

class FakeSocket {
  static made: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  readonly sent: unknown[] = [];
  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  welcome(conn: number): void {
    this.readyState = 1;
    this.onopen?.({});
    this.host({ type: "welcome", conn, heartbeat_ms: 60_000, protocol: 1 });
  }
  host(...frames: unknown[]): void {
    for (const frame of frames) this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
  /** The calls sent on this socket. */
  calls(): Array<{ id: number; method: string; params: unknown }> {
    return (this.sent as Array<{ type: string; id: number; method: string; params: unknown }>).filter((m) => m.type === "call");
  }
}

function network(t: TestContext) {
  FakeSocket.made = [];
  const av = connectAuroraView({
    url: "ws://127.0.0.1:9/__auroraview/ws",
    WebSocket: FakeSocket as unknown as WebSocketConstructor,
    heartbeatMs: 60_000,
    baseDelayMs: 1,
    maxDelayMs: 1,
    random: () => 0,
  });
  t.after(() => av.connection.close());
  return av;
}

test("network: a subscription made before the welcome goes out with it; after a reconnection it is sent again with since", async (t) => {
  const av = network(t);
  const r = recorder();
  const sub = av.subscribe("scene/updates", r.handler, r);
  const first = FakeSocket.made[0];
  assert.equal(first.sent.length, 0, "queued until the welcome");
  first.welcome(1);
  assert.deepEqual(first.calls(), [{ type: "call", id: 1, method: "auroraview.subscribe", params: { topic: "scene/updates" } }]);
  first.host({ type: "call_result", id: 1, ok: true, result: { epoch: "e1", offset: 0 } }, pub("scene/updates", "e1", 1), pub("scene/updates", "e1", 2));
  await sub.ready;
  first.drop();
  assert.equal(av.state, "connecting");
  await new Promise((resolve) => setTimeout(resolve, 20));
  const second = FakeSocket.made[1];
  assert.ok(second, "reconnecting");
  second.welcome(2);
  assert.deepEqual(second.calls(), [
    { type: "call", id: 2, method: "auroraview.subscribe", params: { topic: "scene/updates", since: { epoch: "e1", offset: 2 } } },
  ]);
  // The server restarted: a new epoch, not recovered; told before the newer message.
  second.host(
    { type: "call_result", id: 2, ok: true, result: { epoch: "e2", offset: 0, recovered: false, reason: "the epoch changed" } },
    pub("scene/updates", "e2", 1, "new"),
  );
  assert.deepEqual(r.log, [
    ["msg", 1, "e1", 1],
    ["msg", 2, "e1", 2],
    ["recovery", false, "the epoch changed", "e2", 0],
    ["msg", "new", "e2", 1],
  ]);
  const leaving = sub.unsubscribe();
  assert.deepEqual(second.calls()[1], { type: "call", id: 3, method: "auroraview.unsubscribe", params: { topic: "scene/updates" } });
  second.host({ type: "call_result", id: 3, ok: true, result: null });
  await leaving;
});

// ── The mock.

test("mock: subscribers get publishAsHost's messages, the page's publishes are recorded and reach its own subscribers", async () => {
  interface Topics {
    "scene/updates": { node: string };
    "chat/lobby": string;
  }
  const mock = mockAuroraView<Record<string, never>, Topics>({});
  const got: unknown[] = [];
  const sub = mock.subscribe("scene/updates", (data, p) => void got.push([data, p.offset]));
  assert.equal(mock.subscribed("scene/updates"), false, "not before the host answered");
  assert.deepEqual({ ...(await sub.ready) }, { epoch: "mock", offset: 0 });
  assert.equal(mock.subscribed("scene/updates"), true);
  assert.deepEqual(mock.publishAsHost("scene/updates", { node: "cube" }), { epoch: "mock", offset: 1 });
  // @ts-expect-error the payload type is checked
  mock.publishAsHost("scene/updates", { node: 1 });
  assert.deepEqual(got, [[{ node: "cube" }, 1], [{ node: 1 }, 2]]);
  const chat: unknown[] = [];
  mock.subscribe("chat/lobby", (data) => void chat.push(data));
  assert.deepEqual(await mock.publish("chat/lobby", "hello"), { epoch: "mock", offset: 1 });
  assert.deepEqual(mock.published, [{ topic: "chat/lobby", data: "hello" }]);
  assert.deepEqual(chat, ["hello"]);
  await sub.unsubscribe();
  assert.equal(mock.subscribed("scene/updates"), false);
  mock.publishAsHost("scene/updates", { node: "gone" });
  assert.equal(got.length, 2);
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("mock: a handler named after a reserved method refuses requests by throwing", async () => {
  const mock = mockAuroraView({
    "auroraview.subscribe": (p: { topic: string }) => {
      if (p.topic.startsWith("admin/")) throw new InvokeError({ name: "Forbidden", code: "forbidden", message: "not for you", data: null });
    },
    "auroraview.publish": async () => {
      throw new InvokeError({ name: "ValidationError", code: "invalid_params", message: "bad payload", data: [{ loc: ["data"] }] });
    },
  });
  let called = 0;
  await assert.rejects(mock.subscribe("admin/log", () => void called++).ready, (e: unknown) => e instanceof InvokeError && e.code === "forbidden");
  mock.publishAsHost("admin/log", 1);
  assert.equal(called, 0);
  await mock.subscribe("public", () => void called++).ready;
  await assert.rejects(mock.publish("public", 1), (e: unknown) => e instanceof InvokeError && e.code === "invalid_params");
  assert.deepEqual(mock.published, []);
});

test("generated-binding helpers: subscribe and publish on the active backend, typed", async () => {
  const mock = mockAuroraView({});
  createAuroraView(mock);
  const scene = pubSubTopic<{ node: string; visible: boolean }, { node: string; visible?: boolean }>("scene/updates");
  const status = subscribeTopic<number>("status");
  const commandsIn = publishTopic<string>("commands/in");
  assert.equal(scene.name, "scene/updates");
  const got: Array<{ node: string; visible: boolean }> = [];
  const sub = scene.subscribe((u) => void got.push(u));
  await sub.ready;
  await scene.publish({ node: "cube" });
  assert.deepEqual(got, [{ node: "cube" }]);
  // @ts-expect-error a publish of the wrong shape
  void scene.publish({ node: 1 });
  // @ts-expect-error the handler's parameter is the payload type
  status.subscribe((s: string) => void s);
  // @ts-expect-error no publish on a subscribe-only topic
  void status.publish;
  // @ts-expect-error no subscribe on a publish-only topic
  void commandsIn.subscribe;
  assert.deepEqual(await commandsIn.publish("go"), { epoch: "mock", offset: 1 });
  assert.deepEqual(mock.published.map((p) => p.topic), ["scene/updates", "scene/updates", "commands/in"]);
});

test("a subscriber joining while a resubscription is on its way starts where delivery is: only greater offsets follow", async () => {
  const { transport, client } = setup();
  const first = recorder();
  client.subscribe("t", first.handler, first);
  transport.deliver(ok(1, { epoch: "e1", offset: 0 }), pub("t", "e1", 1), pub("t", "e1", 2));
  transport.change("connecting");
  transport.change("open");
  const late = recorder();
  const sub = client.subscribe("t", late.handler, late); // the resubscription (since 2) is in flight
  transport.deliver(ok(transport.last("auroraview.subscribe"), { epoch: "e1", offset: 5, recovered: true }), pub("t", "e1", 3), pub("t", "e1", 4), pub("t", "e1", 5));
  const start = (await sub.ready).offset;
  const offsets = late.log.filter((e) => (e as unknown[])[0] === "msg").map((e) => (e as unknown[])[3] as number);
  assert.ok(offsets.every((o) => o > start), `started at ${start}, got ${JSON.stringify(offsets)}`);
  assert.deepEqual(offsets, [3, 4, 5].filter((o) => o > start));
  assert.deepEqual(first.log.map((e) => (e as unknown[])[0] === "msg" ? (e as unknown[])[3] : "recovery"), [1, 2, "recovery", 3, 4, 5]);
});
