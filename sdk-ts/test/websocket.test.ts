// The WebSocket transport (src/transports/websocket.ts) and createAuroraView({ url }) against
// a fake server speaking docs/network.md (test/net/fake-server.ts), with the `ws` package.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import {
  backoffDelay,
  decodeFrame,
  commandWithParams,
  connectAuroraView,
  createAuroraView,
  getAuroraView,
  InvokeError,
  isInvokeError,
  pageEvent,
  resolveEndpoint,
  websocketTransport,
  type ConnectionEvents,
  type DisconnectedInfo,
  type NetworkAuroraView,
  type NetworkOptions,
  type WebSocketConstructor,
} from "../src/index.js";
import { FakeServer, sleep, TOKEN, waitFor, type FakeServerOptions } from "./net/fake-server.js";

// Both implementations fit the option's type (checked by tsc, not at run time).
const fromWs: WebSocketConstructor = WebSocket;
const fromDom: WebSocketConstructor | undefined = (globalThis as { WebSocket?: typeof globalThis.WebSocket }).WebSocket;
void fromDom;

/** Reconnect fast: the tests wait for reconnections. */
const FAST = { baseDelayMs: 10, maxDelayMs: 40 };

async function setup(t: TestContext, server: FakeServerOptions = {}, client: Partial<NetworkOptions> = {}) {
  const srv = await FakeServer.start(server);
  const av = connectAuroraView({ url: srv.url, token: TOKEN, WebSocket: fromWs, ...FAST, ...client });
  const events = record(av);
  t.after(async () => {
    av.connection.close();
    await srv.stop();
  });
  return { srv, av, events };
}

/** Every connection event, in order. */
function record(av: NetworkAuroraView) {
  const log: Array<[keyof ConnectionEvents, unknown]> = [];
  av.connection.on("connected", (info) => log.push(["connected", info]));
  av.connection.on("disconnected", (info) => log.push(["disconnected", info]));
  av.connection.on("error", (error) => log.push(["error", error.message]));
  return {
    log,
    count: (kind: keyof ConnectionEvents) => log.filter(([k]) => k === kind).length,
    disconnects: () => log.filter(([k]) => k === "disconnected").map(([, v]) => v as DisconnectedInfo),
  };
}

const code = (expected: string) => (e: unknown) => e instanceof InvokeError && e.code === expected;

test("backoff: full jitter below min(max, base * 2^attempt), from an injected random", () => {
  const draws = [0, 0.5, 0.999999];
  for (const r of draws) {
    for (let attempt = 0; attempt < 12; attempt++) {
      const cap = Math.min(10_000, 250 * 2 ** attempt);
      const delay = backoffDelay(attempt, 250, 10_000, () => r);
      assert.ok(delay >= 0 && delay < cap, `attempt ${attempt}, r ${r}: ${delay} < ${cap}`);
      assert.equal(delay, Math.floor(r * cap));
    }
  }
  assert.equal(backoffDelay(0, 250, 10_000, () => 0.5), 125);
  assert.equal(backoffDelay(3, 250, 10_000, () => 0.5), 1000);
  assert.equal(backoffDelay(10, 250, 10_000, () => 0.5), 5000); // capped at max
  assert.equal(backoffDelay(1e6, 250, 10_000, () => 0.5), 5000); // no overflow to NaN
  assert.equal(backoffDelay(2, 250, 10_000, () => 1.5), 0); // a bad random is not trusted
  // Jittered: many clients spread over the window rather than all at its end.
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(5)));
  assert.ok(spread.size > 10, `only ${spread.size} distinct delays`);
});

test("urls: ws as given, the printed http URL's token, relative paths against a base", () => {
  assert.deepEqual(resolveEndpoint("ws://127.0.0.1:9/__auroraview/ws", "T"), { url: "ws://127.0.0.1:9/__auroraview/ws", token: "T" });
  assert.deepEqual(resolveEndpoint("http://127.0.0.1:9/?token=abc"), { url: "ws://127.0.0.1:9/__auroraview/ws", token: "abc" });
  assert.deepEqual(resolveEndpoint("https://h.example/app?x=1&token=abc#f"), { url: "wss://h.example/__auroraview/ws?x=1", token: "abc" });
  assert.deepEqual(resolveEndpoint("/__auroraview/ws", undefined, "https://h.example:8443/page.html"), {
    url: "wss://h.example:8443/__auroraview/ws",
    token: undefined,
  });
  assert.throws(() => resolveEndpoint("/__auroraview/ws"), /relative url/);
  assert.throws(() => resolveEndpoint("ftp://h/"), /cannot connect to "ftp:"/);
  assert.throws(() => resolveEndpoint("http://h/?token=a", "b"), /differ/);
  assert.throws(() => resolveEndpoint("ws://h/", ""), /non-empty/);
});

test("no WebSocket implementation: a clear error naming the ws package", () => {
  const g = globalThis as { WebSocket?: unknown };
  const saved = g.WebSocket;
  g.WebSocket = undefined;
  try {
    assert.throws(() => websocketTransport({ url: "ws://127.0.0.1:9/" }), /install the "ws" package/);
    assert.throws(() => createAuroraView({ url: "ws://127.0.0.1:9/" }), /"ws" package/);
  } finally {
    g.WebSocket = saved;
  }
  assert.throws(() => websocketTransport({ url: "ws://127.0.0.1:9/", WebSocket: fromWs, heartbeatMs: 0 }), /heartbeatMs/);
});

test("the token at the upgrade (subprotocol), open at the welcome, calls and structured errors", async (t) => {
  const { srv, av, events } = await setup(t);
  assert.equal(av.state, "connecting");
  await av.ready;
  assert.equal(av.state, "open");
  assert.deepEqual(srv.peers[0].offered, ["auroraview.batch", "auroraview", `auroraview.token.${TOKEN}`]);
  assert.equal(srv.peers[0].protocol, "auroraview", "the server selected auroraview");
  assert.equal(srv.peers[0].frames.length, 0, "no hello: nothing sent before the first call");
  assert.deepEqual(events.log[0], ["connected", { conn: 1, protocol: 1, heartbeatMs: 15_000 }]);
  assert.deepEqual(av.connection.info, { conn: 1, protocol: 1, heartbeatMs: 15_000 });

  assert.deepEqual(await av.call("api.add", { a: 1, b: 2 }), { total: 3 });
  assert.equal(await (av.api as Record<string, (p: unknown) => Promise<unknown>>).echo({ value: "hi" }), "hi");
  await assert.rejects(av.call("api.add", { a: 1, b: -1 }), (e: unknown) => {
    assert.ok(e instanceof InvokeError && isInvokeError(e));
    assert.equal(e.code, "invalid_params");
    assert.ok(Array.isArray((e.data as { errors: unknown[] }).errors));
    return true;
  });
  await assert.rejects(av.call("api.fail", { what: "cube" }), (e: unknown) => {
    assert.ok(e instanceof InvokeError);
    assert.deepEqual([e.name, e.code, e.message, e.data], ["NotFound", "not_found", "no cube here", { what: "cube" }]);
    return true;
  });
  await assert.rejects(av.call("api.nope"), code("method_not_found"));
  assert.deepEqual(av.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  assert.equal(srv.received("hello").length, 0, "no hello frame");
  assert.ok(!av.connection.url.includes(TOKEN), "the token is not in the URL");
});

test("calls made before the first welcome wait for it, in order; a cancelled one never leaves", async (t) => {
  const { srv, av } = await setup(t, { welcomeDelayMs: 50 });
  const a = av.call("api.echo", { value: 1 });
  const gone = av.call("api.sleep", { seconds: 5 }, { timeout: 10 });
  const b = av.call("api.echo", { value: 2 });
  av.send_event("client_event", { n: 1 });
  assert.equal(av.connection.stats().queued, 4);
  await assert.rejects(gone, code("timeout"));
  assert.equal(av.connection.stats().queued, 3); // the call went; no cancel took its place
  assert.deepEqual(await Promise.all([a, b]), [1, 2]);
  assert.deepEqual(
    srv.peers[0].frames.map((f) => f.type),
    ["call", "call", "event"],
  );
  assert.equal(srv.calls.get("api.sleep"), undefined);
});

test("the queue before the first welcome is bounded", async (t) => {
  const { av } = await setup(t, { welcomeDelayMs: 100 }, { maxQueued: 2 });
  const calls = [av.call("api.echo", { value: 1 }), av.call("api.echo", { value: 2 }), av.call("api.echo", { value: 3 })];
  await assert.rejects(calls[2], code("disconnected"));
  assert.deepEqual(await Promise.all(calls.slice(0, 2)), [1, 2]);
});

test("events reach listeners; send_event reaches the server", async (t) => {
  const { srv, av } = await setup(t);
  await av.ready;
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  const seen = new Promise((resolve) => av.once("client_event_seen", resolve));
  assert.equal(await av.call("api.emit", { event: "tick", payload: { a: 1 }, count: 3 }), 3);
  assert.deepEqual(got, [{ a: 1, i: 0 }, { a: 1, i: 1 }, { a: 1, i: 2 }]);
  av.send_event("client_event", { hello: "there" });
  assert.deepEqual(await seen, { hello: "there" });
  srv.emit("tick", "pushed");
  await waitFor(() => got.length === 4, 1000, "the pushed event");
});

test("a server that chose auroraview.batch: each message of a batch is handled, in order", async (t) => {
  const { srv, av, events } = await setup(t, { batch: true });
  await av.ready;
  assert.equal(srv.peers[0].protocol, "auroraview.batch");
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  const reply = av.call("api.sleep", { seconds: 5 }); // answered below, inside a batch
  await waitFor(() => srv.peers[0].frames.length === 1, 1000, "the call");
  const id = srv.peers[0].frames[0].id;
  srv.broadcastRaw(
    JSON.stringify([
      { type: "event", event: "tick", payload: 1 },
      { type: "ping" },
      { type: "call_result", id, ok: true, result: "answered" },
      { type: "event", event: "tick", payload: 2 },
    ]),
  );
  assert.equal(await reply, "answered");
  assert.deepEqual(got, [1, 2]);
  await waitFor(() => srv.peers[0].frames.some((f) => f.type === "pong"), 1000, "the batch's ping answered");
  // A member that is not a message is counted and reported; the others still arrive.
  srv.broadcastRaw(JSON.stringify([{ type: "event", event: "tick", payload: 3 }, 7, { type: "event", event: "tick", payload: 4 }]));
  await waitFor(() => got.length === 4, 1000, "the rest of the batch");
  assert.deepEqual(got, [1, 2, 3, 4]);
  assert.equal(av.connection.stats().invalidFrames, 1);
  assert.ok(events.log.some(([k, m]) => k === "error" && /a batch from the server holds something that is not a JSON object/.test(String(m))));
  assert.equal(av.state, "open");
});

test("per-call timeout and abort reject at once and cancel on the server", async (t) => {
  const { srv, av } = await setup(t);
  await av.ready;
  const started = Date.now();
  await assert.rejects(av.call("api.sleep", { seconds: 5 }, { timeout: 50 }), code("timeout"));
  assert.ok(Date.now() - started < 1000);
  const controller = new AbortController();
  const aborted = av.call("api.sleep", { seconds: 5 }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(aborted, code("cancelled"));
  await waitFor(() => srv.received("cancel").length === 2, 1000, "two cancels");
  assert.deepEqual(await av.call("api.echo", { value: "still open" }), "still open");
});

test("a dropped connection rejects calls in flight at once, never re-sends them, and reconnects", async (t) => {
  const { srv, av, events } = await setup(t);
  await av.ready;
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  const inFlight = av.call("api.sleep", { seconds: 5 });
  await waitFor(() => srv.calls.get("api.sleep") === 1, 1000, "the call on the server");
  const dropped = Date.now();
  srv.closeAll(1011, "boom");
  await assert.rejects(inFlight, (e: unknown) => code("disconnected")(e) && /boom/.test((e as Error).message));
  assert.ok(Date.now() - dropped < 500, "rejected at once");
  // While reconnecting a call is rejected at once rather than queued for a later connection.
  if (av.state === "connecting") await assert.rejects(av.call("api.echo", { value: 0 }), code("disconnected"));
  await waitFor(() => events.count("connected") === 2, 2000, "the reconnection");
  assert.equal(av.state, "open");
  assert.deepEqual(events.disconnects()[0], { code: 1011, reason: "boom", willReconnect: true });
  assert.deepEqual(await av.call("api.echo", { value: "again" }), "again");
  assert.equal(srv.calls.get("api.sleep"), 1, "the call in flight was never sent again");
  // Listeners live in the client: they survive the new connection.
  await av.call("api.emit", { event: "tick", payload: {} });
  assert.deepEqual(got, [{ i: 0 }]);
  assert.equal(srv.welcomed.length, 2);
  assert.deepEqual(srv.welcomed[1].offered, ["auroraview.batch", "auroraview", `auroraview.token.${TOKEN}`], "the token again at the upgrade");
  assert.equal(srv.received("hello").length, 0, "no hello frame on either connection");
});

test("the server goes away and comes back on the same port: backoff, then the same client works", async (t) => {
  let srv = await FakeServer.start();
  const port = srv.port;
  const av = connectAuroraView({ url: srv.url, token: TOKEN, WebSocket: fromWs, baseDelayMs: 20, maxDelayMs: 100 });
  const events = record(av);
  t.after(async () => {
    av.connection.close();
    await srv.stop();
  });
  await av.ready;
  const got: unknown[] = [];
  av.on("tick", (p) => got.push(p));
  await srv.stop();
  await waitFor(() => av.state === "connecting", 1000, "the loss");
  await sleep(300); // several attempts fail (connection refused) meanwhile
  const attempts = av.connection.stats().attempts;
  assert.ok(attempts >= 3, `${attempts} attempts in 300 ms`);
  assert.ok(attempts < 30, `${attempts} attempts in 300 ms: no backoff?`);
  assert.equal(events.count("disconnected"), 1); // one per lost connection, not per attempt
  srv = await FakeServer.start({ port });
  await waitFor(() => av.state === "open", 2000, "the reconnection");
  assert.equal(events.count("connected"), 2);
  assert.deepEqual(await av.call("api.add", { a: 2, b: 2 }), { total: 4 });
  srv.emit("tick", 7);
  await waitFor(() => got.length === 1, 1000, "an event after the reconnection");
});

test("the client answers pings, and pings a server when it has sent nothing for heartbeatMs", async (t) => {
  // A pong is a frame sent, so each side pings only when the other's interval is the longer.
  const answering = await setup(t, { heartbeatMs: 40 }, { heartbeatMs: 5000 });
  const pinging = await setup(t, { heartbeatMs: 10_000 }, { heartbeatMs: 50 });
  await Promise.all([answering.av.ready, pinging.av.ready]);
  await sleep(250);
  assert.ok(answering.srv.received("pong").length >= 3, "answered the server's pings");
  assert.equal(answering.srv.received("ping").length, 0);
  assert.ok(pinging.srv.received("ping").length >= 3, "sent its own");
  assert.equal(pinging.av.state, "open");
  assert.ok(pinging.av.connection.stats().received >= 4, "the pongs count as frames heard");
  // Without the heartbeatMs option, the welcome's heartbeat_ms is used.
  const other = connectAuroraView({ url: answering.srv.url, token: TOKEN, WebSocket: fromWs });
  t.after(() => other.connection.close());
  await other.ready;
  assert.equal(other.connection.info?.heartbeatMs, 40);
});

test("a server that goes silent is found dead within heartbeatMs + heartbeatTimeoutMs (4002), then reconnected", async (t) => {
  const { srv, av, events } = await setup(t, {}, { heartbeatMs: 200, heartbeatTimeoutMs: 300, connectTimeoutMs: 300 });
  await av.ready;
  const inFlight = av.call("api.sleep", { seconds: 5 });
  srv.silent = true; // still accepts connections, answers nothing (a stopped process)
  const since = Date.now();
  await assert.rejects(inFlight, code("disconnected"));
  const took = Date.now() - since;
  assert.ok(took >= 450 && took < 1500, `noticed after ${took} ms`);
  const [lost] = events.disconnects();
  assert.equal(lost.code, 4002);
  assert.equal(lost.willReconnect, true);
  assert.match(lost.reason, /heartbeat timeout/);
  assert.equal(av.connection.stats().heartbeatTimeouts, 1);
  // New sockets are accepted but never welcomed: each attempt ends at connectTimeoutMs.
  await sleep(400);
  assert.equal(av.state, "connecting");
  srv.silent = false;
  await waitFor(() => av.state === "open", 3000, "the reconnection");
  assert.deepEqual(await av.call("api.echo", { value: 1 }), 1);
});

test("4001 (wrong token) closes for good: no reconnection, ready and queued calls reject", async (t) => {
  const { srv, av, events } = await setup(t, { token: "another-token-0123456789ab" });
  const queued = av.call("api.echo", { value: 1 });
  await assert.rejects(av.ready, code("disconnected"));
  await assert.rejects(queued, (e: unknown) => code("disconnected")(e) && /4001/.test((e as Error).message));
  assert.equal(av.state, "closed");
  assert.deepEqual(events.disconnects(), [{ code: 4001, reason: "unauthorized", willReconnect: false }]);
  await sleep(100);
  assert.equal(srv.peers.length, 1, "no second attempt");
  assert.deepEqual(srv.peers[0].frames, [], "nothing sent: no hello, the queued call never left");
  await assert.rejects(av.call("api.echo"), code("disconnected"));
  assert.throws(() => av.send_event("x"), code("disconnected"));
});

test("4003 (token revoked) on an open connection closes for good", async (t) => {
  const { srv, av, events } = await setup(t);
  await av.ready;
  const inFlight = av.call("api.sleep", { seconds: 5 });
  await waitFor(() => srv.calls.get("api.sleep") === 1);
  srv.closeAll(4003, "token revoked");
  await assert.rejects(inFlight, code("disconnected"));
  assert.equal(av.state, "closed");
  assert.deepEqual(events.disconnects(), [{ code: 4003, reason: "token revoked", willReconnect: false }]);
  await sleep(100);
  assert.equal(srv.peers.length, 1);
});

test("HTTP 401 at the upgrade closes for good (reported as 4001)", async (t) => {
  const { srv, av, events } = await setup(t, { refuseUpgrade: 401 });
  await assert.rejects(av.ready, code("disconnected"));
  assert.equal(av.state, "closed");
  assert.equal(events.disconnects()[0].code, 4001);
  assert.ok(events.log.some(([k, m]) => k === "error" && /401/.test(String(m))));
  await sleep(100);
  assert.equal(av.connection.stats().attempts, 1);
  void srv;
});

test("maxAttempts failed attempts in a row close the client", async (t) => {
  const srv = await FakeServer.start();
  const url = srv.url;
  await srv.stop(); // nothing listens there any more
  const av = connectAuroraView({ url, token: TOKEN, WebSocket: fromWs, baseDelayMs: 5, maxDelayMs: 10, maxAttempts: 3 });
  t.after(() => av.connection.close());
  const events = record(av);
  await assert.rejects(av.ready, code("disconnected"));
  assert.equal(av.state, "closed");
  assert.equal(av.connection.stats().attempts, 4); // the first, then three retries
  assert.match(events.disconnects()[0].reason, /gave up after 3 attempts/);
  assert.equal(events.disconnects()[0].willReconnect, false);
  assert.ok(events.count("error") >= 4, "each failed attempt reported");
});

test("connection.close(): closed for good, calls in flight rejected, the server sees 1000", async (t) => {
  const { srv, av, events } = await setup(t);
  await av.ready;
  const inFlight = av.call("api.sleep", { seconds: 5 });
  av.connection.close();
  await assert.rejects(inFlight, code("disconnected"));
  assert.equal(av.state, "closed");
  assert.equal(av.connection.state, "closed");
  assert.deepEqual(events.disconnects(), [{ code: 1000, reason: "closed by the client", willReconnect: false }]);
  await waitFor(() => srv.peers[0].closed !== undefined, 1000, "the server to see the close");
  assert.equal(srv.peers[0].closed?.code, 1000);
  await sleep(60);
  assert.equal(srv.peers.length, 1, "no reconnection");
  av.connection.close(); // twice: nothing more
  assert.equal(events.count("disconnected"), 1);
});

test("binary messages that are not frames, and undecodable text, are reported and counted", async (t) => {
  const { srv, av, events } = await setup(t);
  await av.ready;
  srv.broadcastRaw(Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0])); // not the tag
  srv.broadcastRaw(Buffer.from([0, 9, 0, 0, 0, 0, 0, 0, 0, 0x7b])); // lengths that do not add up
  srv.broadcastRaw(Buffer.from([0, 2, 0, 0, 0, 0, 0, 0, 0, 0x5b, 0x5d])); // a frame holding [] (not an object)
  srv.broadcastRaw("not json");
  assert.deepEqual(await av.call("api.echo", { value: "after" }), "after");
  assert.equal(av.connection.stats().binaryIgnored, 0);
  assert.equal(av.connection.stats().invalidFrames, 4);
  const errors = events.log.filter(([k]) => k === "error").map(([, m]) => String(m));
  assert.ok(errors.some((m) => /not a binary frame: malformed binary frame: its first byte is 0x01/.test(m)), errors.join("\n"));
  assert.ok(errors.some((m) => /not a binary frame: .*lengths add up/.test(m)), errors.join("\n"));
  assert.ok(errors.some((m) => /does not hold a JSON object/.test(m)), errors.join("\n"));
  assert.ok(errors.some((m) => /not a JSON object/.test(m)));
  assert.equal(av.state, "open");
});

test("binary calls over a real socket: params' bytes as one binary message, the reply's bytes back", async (t) => {
  const { srv, av } = await setup(t, { welcomeDelayMs: 30 });
  const data = new Uint8Array(256).map((_, i) => i);
  const early = av.call("api.bytes", { data }); // before the welcome: queued as a frame
  assert.equal(av.connection.stats().queued, 1);
  const result = (await early) as { data: Uint8Array; reversed: Uint8Array; size: number };
  assert.equal(result.size, 256);
  assert.ok(result.data instanceof Uint8Array && Buffer.from(result.data).equals(Buffer.from(data)));
  assert.deepEqual([...result.reversed], [...data].reverse());
  assert.deepEqual(srv.peers[0].frames[0], { type: "call", id: 1, method: "api.bytes", params: { data: { $bin: 0 } } });
  assert.ok(srv.peers[0].binary[0][0].equals(Buffer.from(data)));
  // 8 MiB, every byte value, both ways; an empty attachment too.
  const big = new Uint8Array(8 << 20).map((_, i) => (i * 7) & 0xff);
  const back = (await av.call("api.bytes", { data: big })) as { data: Uint8Array; size: number };
  assert.equal(back.size, big.length);
  assert.ok(Buffer.from(back.data).equals(Buffer.from(big)));
  const empty = (await av.call("api.bytes", { data: new Uint8Array(0) })) as { data: Uint8Array; size: number };
  assert.equal(empty.size, 0);
  assert.equal(empty.data.length, 0);
  await assert.rejects(av.call("api.bytes", { data: "text" }), code("invalid_params"));
  assert.deepEqual(av.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  assert.equal(av.connection.stats().invalidFrames, 0);
});

test("no token and no cookie: no token subprotocol offered, accepted then closed 4001 for good", async (t) => {
  const srv = await FakeServer.start();
  const av = connectAuroraView({ url: srv.url, WebSocket: fromWs, ...FAST });
  const events = record(av);
  t.after(async () => {
    av.connection.close();
    await srv.stop();
  });
  await assert.rejects(av.ready, code("disconnected"));
  assert.equal(av.state, "closed");
  assert.deepEqual(events.disconnects(), [{ code: 4001, reason: "unauthorized", willReconnect: false }]);
  assert.deepEqual(srv.peers[0].offered, ["auroraview.batch", "auroraview"]);
  assert.equal(srv.peers[0].protocol, "auroraview");
  assert.deepEqual(srv.peers[0].frames, []);
  await sleep(60);
  assert.equal(srv.peers.length, 1, "no reconnection");
});

test("a token that cannot travel as a subprotocol is refused at once", () => {
  assert.throws(() => resolveEndpoint("ws://127.0.0.1:9/__auroraview/ws", "a b"), /cannot be sent at the upgrade/);
  assert.throws(() => resolveEndpoint("ws://127.0.0.1:9/__auroraview/ws", "a,b"), /cannot be sent at the upgrade/);
});

test("a cookie-authenticated upgrade: no token, no hello, the welcome comes anyway", async (t) => {
  const srv = await FakeServer.start({ authAtUpgrade: true });
  const av = connectAuroraView({ url: `http://127.0.0.1:${srv.port}/`, WebSocket: fromWs });
  t.after(async () => {
    av.connection.close();
    await srv.stop();
  });
  await av.ready;
  assert.deepEqual(await av.call("api.echo", { value: 5 }), 5);
  assert.deepEqual(srv.peers[0].frames.map((f) => f.type), ["call"]);
  assert.deepEqual(srv.peers[0].offered, ["auroraview.batch", "auroraview"], "no token subprotocol");
  assert.equal(srv.peers[0].protocol, "auroraview");
});

test("createAuroraView({ url }) makes the network client current: generated bindings use it", async (t) => {
  const srv = await FakeServer.start();
  const events: string[] = [];
  const av = createAuroraView({
    url: `http://127.0.0.1:${srv.port}/?token=${TOKEN}`,
    WebSocket: fromWs,
    onConnected: (info) => events.push(`connected ${info.conn}`),
    onDisconnected: (info) => events.push(`disconnected ${info.code}`),
  });
  t.after(async () => {
    av.connection.close();
    await srv.stop();
  });
  assert.equal(getAuroraView(), av);
  const add = commandWithParams<{ a: number; b: number }, { total: number }>("api.add");
  const tick = pageEvent<{ i: number }>("tick");
  const got: number[] = [];
  tick.on((p) => got.push(p.i));
  assert.deepEqual(await add({ a: 20, b: 22 }), { total: 42 }); // before the welcome: queued
  // The printed URL's token went to the upgrade's subprotocols, not the request line.
  assert.deepEqual(srv.peers[0].offered, ["auroraview.batch", "auroraview", `auroraview.token.${TOKEN}`]);
  assert.equal(av.connection.url, `ws://127.0.0.1:${srv.port}/__auroraview/ws`);
  assert.equal(srv.peers[0].path, "/__auroraview/ws");
  await av.call("api.emit", { event: "tick", payload: {}, count: 2 });
  assert.deepEqual(got, [0, 1]);
  av.connection.close();
  assert.deepEqual(events, ["connected 1", "disconnected 1000"]);
  assert.throws(() => createAuroraView({} as NetworkOptions), /expected a backend/);
});

test("connection listeners: off, unsubscribe, a throwing listener does not stop the others", async (t) => {
  const { av } = await setup(t);
  const seen: string[] = [];
  const original = console.error;
  console.error = () => {};
  t.after(() => {
    console.error = original;
  });
  av.connection.on("connected", () => {
    throw new Error("listener bug");
  });
  const off = av.connection.on("connected", () => seen.push("removed"));
  off();
  const second = (): void => void seen.push("second");
  av.connection.on("connected", () => seen.push("kept"));
  av.connection.on("connected", second);
  av.connection.off("connected", second);
  await av.ready;
  assert.deepEqual(seen, ["kept"]);
  assert.throws(() => av.connection.on("nope" as "connected", () => {}), /no connection event/);
});

test("connection listeners and timers are out of reach of builtins replaced after load", async (t) => {
  // A page script replacing Array.from, Set.prototype or setTimeout used to see the app's
  // connection listeners (and could call them with made-up info) or take the client's timers.
  // The fake server shares this process (and these builtins): only the client's own
  // listeners and timer callbacks count.
  const caught: unknown[] = [];
  const saved = {
    from: Array.from,
    add: Set.prototype.add,
    forEach: Set.prototype.forEach,
    setTimeout: globalThis.setTimeout,
  };
  const { srv, av, events } = await setup(t, {}, { heartbeatMs: 50 });
  await av.ready;
  const later: string[] = [];
  const mine = () => later.push("disconnected");
  try {
    Array.from = ((items: Iterable<unknown>) => {
      caught.push(items);
      return saved.from(items);
    }) as typeof Array.from;
    Set.prototype.add = function (this: Set<unknown>, value: unknown) {
      caught.push(value, this);
      return saved.add.call(this, value);
    } as typeof Set.prototype.add;
    Set.prototype.forEach = function (this: Set<unknown>, ...args: Parameters<Set<unknown>["forEach"]>) {
      caught.push(this);
      return saved.forEach.apply(this, args);
    } as typeof Set.prototype.forEach;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      caught.push(fn);
      return saved.setTimeout(fn, ms);
    }) as typeof globalThis.setTimeout;
    av.connection.on("disconnected", mine);
    srv.closeAll(1011, "boom");
    await waitFor(() => events.count("connected") === 2, 5000, "the reconnection");
    await sleep(120); // heartbeats re-armed on the new connection
  } finally {
    Array.from = saved.from;
    Set.prototype.add = saved.add;
    Set.prototype.forEach = saved.forEach;
    globalThis.setTimeout = saved.setTimeout;
  }
  assert.deepEqual(later, ["disconnected"], "a listener added meanwhile still works");
  const contains = (item: unknown, fn: unknown) =>
    item === fn || (item instanceof Set && item.has(fn)) || (Array.isArray(item) && item.includes(fn));
  assert.ok(!caught.some((item) => contains(item, mine)), "the app's listener passed through a replaced builtin");
  const clientTimers = new Set(["connect", "pingCheck", "deadCheck", "terminate"]);
  const leaked = caught.filter((item) => typeof item === "function" && clientTimers.has(item.name));
  assert.deepEqual(leaked, [], "a client timer went through the replaced setTimeout");
});

test("a stream over the network: items in order through a small window moved by acks; break cancels it", async (t) => {
  const { srv, av } = await setup(t);
  await av.ready;
  const got: unknown[] = [];
  for await (const n of av.stream("api.count", { n: 2000, window: 16 })) got.push(n);
  assert.equal(got.length, 2000);
  assert.ok(got.every((n, i) => n === i));
  const acks = srv.received("ack").map((a) => a.seq as number);
  assert.ok(acks.length > 0 && acks.every((seq, i) => seq <= 2000 && (i === 0 || seq > acks[i - 1])), String(acks));
  assert.deepEqual(srv.received("cancel"), []);

  const progress: unknown[] = [];
  for await (const n of av.stream("api.count", { n: 1_000_000 })) {
    progress.push(n);
    if (n === 9) break;
  }
  assert.equal(progress.length, 10);
  await waitFor(() => srv.received("cancel").length === 1, 2000, "the cancel");
  assert.deepEqual(srv.received("cancel")[0], { type: "cancel", id: 2 });
  // The server's `cancelled` reply and the items it had sent are dropped quietly.
  const echo = await av.call("api.echo", { value: "after" });
  assert.equal(echo, "after");
  assert.deepEqual({ ...av.stats(), refused: 0 }, { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

// ── Binary messages with a fake WebSocket (no server): what goes on the wire, what comes back.

/** A WebSocket that records what is sent; the test plays the server. */
class FakeSocket {
  static made: FakeSocket[] = [];
  readyState = 0;
  binaryType = "blob";
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  readonly sent: Array<string | Uint8Array> = [];
  readonly options: unknown;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
    options?: unknown,
  ) {
    this.options = options;
    FakeSocket.made.push(this);
  }
  send(data: string | Uint8Array): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  /** Open and welcome, as the server does. */
  welcome(): void {
    this.readyState = 1;
    this.onopen?.({});
    this.onmessage?.({ data: JSON.stringify({ type: "welcome", conn: 1, heartbeat_ms: 60_000, protocol: 1 }) });
  }
  /** A binary message from the server, as an ArrayBuffer (binaryType "arraybuffer"). */
  receive(data: ArrayBuffer | string | Blob): void {
    this.onmessage?.({ data });
  }
}

/** A binary frame built here, independently of the SDK's encoder. */
function frameOf(message: unknown, blobs: Uint8Array[]): ArrayBuffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(9 + 4 * blobs.length);
  head.writeUInt32LE(json.length, 1);
  head.writeUInt32LE(blobs.length, 5);
  blobs.forEach((b, i) => head.writeUInt32LE(b.length, 9 + 4 * i));
  const all = Buffer.concat([head, json, ...blobs]);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.length) as ArrayBuffer;
}

function fakeSetup(t: TestContext) {
  FakeSocket.made = [];
  const av = connectAuroraView({ url: "ws://127.0.0.1:9/__auroraview/ws", WebSocket: FakeSocket as unknown as WebSocketConstructor, heartbeatMs: 60_000 });
  t.after(() => av.connection.close());
  return { av, socket: FakeSocket.made[0] };
}

test("fake socket: binaryType arraybuffer, ws's payload limit lifted, a binary call sent as one binary message", async (t) => {
  const { av, socket } = fakeSetup(t);
  assert.equal(socket.binaryType, "arraybuffer");
  assert.deepEqual(socket.options, { maxPayload: 0 });
  const data = new Uint8Array([0, 1, 254, 255]);
  const early = av.call("api.checksum", { data, tag: "x" }); // queued before the welcome
  assert.equal(socket.sent.length, 0);
  socket.welcome();
  await av.ready;
  const thumb = av.call("api.thumbnail", { path: "a.png" }, { binary: true });
  const echo = av.call("api.echo", { value: 1 });
  assert.equal(socket.sent.length, 3);
  const [first, second, third] = socket.sent;
  assert.ok(first instanceof Uint8Array && second instanceof Uint8Array, "binary calls go as bytes");
  assert.equal(typeof third, "string", "an ordinary call stays a text message");
  const one = decodeFrame(first as Uint8Array);
  assert.deepEqual(JSON.parse(one.json), { type: "call", id: 1, method: "api.checksum", params: { data: { $bin: 0 }, tag: "x" } });
  assert.deepEqual([...one.blobs[0]], [0, 1, 254, 255]);
  const two = decodeFrame(second as Uint8Array);
  assert.deepEqual(JSON.parse(two.json), { type: "call", id: 2, method: "api.thumbnail", params: { path: "a.png" } });
  assert.equal(two.blobs.length, 0);

  socket.receive(frameOf({ type: "call_result", id: 1, ok: true, result: "digest" }, []));
  const png = new Uint8Array(1000).map((_, i) => i % 251);
  socket.receive(frameOf({ type: "call_result", id: 2, ok: true, result: { name: "a.png", png: { $bin: 1 }, small: [{ $bin: 0 }] } }, [new Uint8Array([5]), png]));
  assert.equal(await early, "digest");
  const got = (await thumb) as { name: string; png: Uint8Array; small: Uint8Array[] };
  assert.ok(Buffer.from(got.png).equals(Buffer.from(png)));
  assert.deepEqual([...got.small[0]], [5]);
  socket.receive(JSON.stringify({ type: "call_result", id: 3, ok: true, result: 1 }));
  assert.equal(await echo, 1);
  // A reply for nobody, and a duplicate: ignored and counted, as text ones.
  socket.receive(frameOf({ type: "call_result", id: 2, ok: true, result: null }, []));
  assert.equal(av.stats().unmatched, 1);
  assert.equal(av.connection.stats().invalidFrames, 0);
  // A Blob (a binaryType not ours) is ignored and counted.
  socket.receive(new Blob([new Uint8Array([0])]));
  assert.equal(av.connection.stats().binaryIgnored, 1);
});

test("fake socket: a binary call cancelled before the welcome never leaves; while reconnecting it is refused", async (t) => {
  const { av, socket } = fakeSetup(t);
  const controller = new AbortController();
  const gone = av.call("api.checksum", { data: new Uint8Array(3) }, { signal: controller.signal });
  const kept = av.call("api.checksum", { data: new Uint8Array([7]) });
  controller.abort();
  await assert.rejects(gone, code("cancelled"));
  assert.equal(av.connection.stats().queued, 1);
  socket.welcome();
  await av.ready;
  assert.equal(socket.sent.length, 1);
  assert.deepEqual(JSON.parse(decodeFrame(socket.sent[0] as Uint8Array).json).id, 2);
  socket.receive(frameOf({ type: "call_result", id: 2, ok: true, result: { $bin: 0 } }, [new Uint8Array([8])]));
  assert.deepEqual([...((await kept) as Uint8Array)], [8]);
  // The connection drops: binary calls are rejected at once, as text ones.
  socket.readyState = 3;
  socket.onclose?.({ code: 1006, reason: "" });
  assert.equal(av.state, "connecting");
  await assert.rejects(av.call("api.checksum", { data: new Uint8Array(1) }), code("disconnected"));
});
