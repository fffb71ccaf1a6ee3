// The WebSocket client against the REAL auroraview server serving tests/net/app.py.
// Runs only when AURORAVIEW_REAL_SERVER_CMD is set to a shell command, run from the
// repository root, that serves that app and prints one JSON line first, e.g.
//
//   AURORAVIEW_REAL_SERVER_CMD='.venv/bin/auroraview serve tests/net/app.py:commands --port 0 --json' npm test
//
// The line: {"url": "http://127.0.0.1:P/?token=T", "ws_url": "ws://…/__auroraview/ws", "port": P, "token": "T"}.
// Every process started here is in its own process group and killed (SIGCONT, then SIGKILL)
// in the `after` hook, and at exit if the runner dies first.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { connectAuroraView, InvokeError, type DisconnectedInfo, type NetworkAuroraView, type NetworkOptions } from "../../src/index.js";

const CMD = process.env.AURORAVIEW_REAL_SERVER_CMD;
const SKIP = CMD
  ? false
  : "AURORAVIEW_REAL_SERVER_CMD is not set (e.g. '.venv/bin/auroraview serve tests/net/app.py:commands --port 0 --json', run from the repository root)";
// This file runs from sdk-ts/build/test/test/net/.
const ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const CLIENT_JS = new URL("../../../../../src/net/client.gen.js", import.meta.url);

interface Announced {
  url: string;
  ws_url: string;
  port: number;
  token: string;
}

interface Server extends Announced {
  child: ChildProcess;
  exited: Promise<void>;
}

const started: Server[] = [];
const clients: NetworkAuroraView[] = [];

/** Signal the server's whole process group (the shell and what it started). */
function signal(server: Server, sig: NodeJS.Signals): void {
  try {
    process.kill(-server.child.pid!, sig);
  } catch {
    // exited already
  }
}

function killAll(): void {
  for (const s of started) {
    signal(s, "SIGCONT");
    signal(s, "SIGKILL");
  }
}
process.on("exit", killAll);

async function start(command: string): Promise<Server> {
  const child = spawn(command, { shell: true, cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server = { child, exited } as Server;
  started.push(server);
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON line from \`${command}\` within 60 s`)), 60_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`\`${command}\` exited with ${code} before printing its JSON line`));
    });
  });
  lines.on("line", () => {}); // keep draining stdout: a full pipe would block the server
  let announced: Announced;
  try {
    announced = JSON.parse(first) as Announced;
  } catch {
    throw new Error(`the first line of \`${command}\` is not JSON: ${first}`);
  }
  for (const key of ["url", "ws_url", "port", "token"] as const) assert.ok(announced[key], `the JSON line has ${key}: ${first}`);
  return Object.assign(server, announced);
}

/** The same command on a given port and token (after a crash). */
function again(command: string, port: number, token: string): string {
  const pinned = /--port[= ]\s*\d+/.test(command) ? command.replace(/--port[= ]\s*\d+/, `--port ${port}`) : `${command} --port ${port}`;
  return `${pinned} --token=${token}`; // `=`: a token may start with `-` (a user's own, or an older server's)
}

function client(server: Announced, options: Partial<NetworkOptions> = {}): NetworkAuroraView {
  const av = connectAuroraView({ url: server.ws_url, token: server.token, WebSocket, ...options });
  clients.push(av);
  return av;
}

function disconnects(av: NetworkAuroraView): DisconnectedInfo[] {
  const seen: DisconnectedInfo[] = [];
  av.connection.on("disconnected", (info) => seen.push(info));
  return seen;
}

async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const code = (expected: string) => (e: unknown) => e instanceof InvokeError && e.code === expected;

interface ServerStats {
  server: Record<string, number>;
  router: Record<string, number>;
}

/** The server's counters (`/__auroraview/stats`, the bearer token). */
async function serverStats(server: Announced): Promise<ServerStats> {
  const res = await fetch(`http://127.0.0.1:${server.port}/__auroraview/stats`, { headers: { Authorization: `Bearer ${server.token}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as ServerStats;
}

/** A `ws` WebSocket that counts what its client sends (by message type) and receives. */
function countingSocket(): { WebSocket: typeof WebSocket; sent: Map<string, number>; received: () => number } {
  const sent = new Map<string, number>();
  let received = 0;
  class Counting extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on("message", () => (received += 1));
    }
    override send(data: unknown, ...rest: unknown[]): void {
      const type = typeof data === "string" ? (/"type":"(\w+)"/.exec(data)?.[1] ?? "?") : "binary";
      sent.set(type, (sent.get(type) ?? 0) + 1);
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  }
  return { WebSocket: Counting as unknown as typeof WebSocket, sent, received: () => received };
}

/** Until `api.finally_count` (how many times api.forever's generator was closed) is `n`. */
async function finallyRan(av: NetworkAuroraView, n: number, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const seen = (await av.call("api.finally_count")) as number;
    if (seen >= n) {
      assert.equal(seen, n, "closed once");
      return Date.now() - t0;
    }
    if (Date.now() - t0 > ms) throw new Error(`api.forever's finally ran ${seen} times, not ${n}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe("against the real server", { skip: SKIP }, () => {
  let server: Server;
  let av: NetworkAuroraView;

  before(async () => {
    server = await start(CMD!);
    av = client(server);
    await av.ready;
  });

  after(async () => {
    for (const c of clients) c.connection.close();
    killAll();
    await Promise.all(started.map((s) => s.exited));
  });

  test("the announced URLs agree, and /__auroraview/client.js is the bundle built here", async () => {
    assert.equal(server.ws_url, `ws://127.0.0.1:${server.port}/__auroraview/ws`);
    assert.equal(server.url, `http://127.0.0.1:${server.port}/?token=${server.token}`);
    const res = await fetch(`http://127.0.0.1:${server.port}/__auroraview/client.js`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), readFileSync(CLIENT_JS, "utf8"));
  });

  test("calls: api.add and api.echo; the printed http URL works as well", async () => {
    assert.deepEqual(await av.call("api.add", { a: 1, b: 2 }), { total: 3 });
    const value = { nested: [1, "two", { three: null }], unicode: "é✓" };
    assert.deepEqual(await av.call("api.echo", { value }), value);
    const printed = connectAuroraView({ url: server.url, WebSocket }); // the token comes from the URL
    clients.push(printed);
    assert.equal(printed.connection.url, server.ws_url);
    assert.deepEqual(await printed.call("api.add", { a: 5, b: 5 }), { total: 10 });
  });

  test("raw bytes both ways as binary WebSocket messages: SHA-256 intact for 0 B, 1 B, 1 MiB and 100 MiB", async () => {
    const sha = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");
    for (const n of [0, 1, 1 << 20, 100 << 20]) {
      const data = new Uint8Array(randomBytes(n));
      if (n > 0) data[0] = 0x89; // not UTF-8
      const digest = sha(data);
      assert.equal(await av.call("api.sha256", { data }), digest, `upload of ${n} B`); // detected: a Uint8Array
      const echoed = await av.call("api.bytes_echo", { data });
      assert.ok(echoed instanceof Uint8Array && echoed.length === n && sha(echoed) === digest, `echo of ${n} B`);
      const made = (await av.call("api.make_bytes", { n }, { binary: true })) as { data: Uint8Array; sha256: string };
      assert.ok(made.data instanceof Uint8Array && made.data.length === n, `download of ${n} B`);
      assert.equal(sha(made.data), made.sha256, `download of ${n} B`);
    }
  });

  test("a validation error: invalid_params with data.errors, and no handler ran", async () => {
    const before = await av.call("api.invocations");
    await assert.rejects(av.call("api.add", { a: 1, b: -1 }), (e: unknown) => {
      assert.ok(e instanceof InvokeError, String(e));
      assert.equal(e.code, "invalid_params");
      const errors = (e.data as { errors?: unknown }).errors;
      assert.ok(Array.isArray(errors) && errors.length > 0, JSON.stringify(e.data));
      return true;
    });
    assert.equal(await av.call("api.invocations"), before);
  });

  test("a declared error: api.fail → not_found with data {what}", async () => {
    await assert.rejects(av.call("api.fail", { what: "cube" }), (e: unknown) => {
      assert.ok(e instanceof InvokeError, String(e));
      assert.equal(e.code, "not_found");
      assert.equal(e.name, "NotFound");
      assert.deepEqual(e.data, { what: "cube" });
      return true;
    });
    await assert.rejects(av.call("api.missing"), code("method_not_found"));
  });

  test("events: api.emit pushes to the caller; a client event comes back", async () => {
    const got: unknown[] = [];
    const off = av.on("tick", (p) => got.push(p));
    assert.equal(await av.call("api.emit", { event: "tick", payload: { a: 1 }, count: 3 }), 3);
    await waitFor(() => got.length === 3, 5000, "three events");
    assert.deepEqual(got, [{ a: 1, i: 0 }, { a: 1, i: 1 }, { a: 1, i: 2 }]);
    off();
    const seen = new Promise((resolve) => av.once("client_event_seen", resolve));
    av.send_event("client_event", { n: 1 });
    assert.deepEqual(await seen, { n: 1 });
  });

  test("timeout and abort reject at once; the connection stays usable", async () => {
    const t0 = Date.now();
    await assert.rejects(av.call("api.sleep", { seconds: 5 }, { timeout: 100 }), code("timeout"));
    const controller = new AbortController();
    const aborted = av.call("api.sleep", { seconds: 5 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(aborted, code("cancelled"));
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(av.state, "open");
    assert.equal(await av.call("api.echo", { value: "ok" }), "ok");
  });

  test("a stream: 10,000 items of api.count arrive in order, none lost or duplicated; acks move the window", { timeout: 60_000 }, async (t) => {
    const counting = countingSocket();
    const sc = client(server, { WebSocket: counting.WebSocket });
    await sc.ready;
    const before = await serverStats(server);
    const t0 = Date.now();
    let expected = 0;
    for await (const x of sc.stream("api.count", { n: 10_000 })) {
      if (x !== expected) assert.fail(`item ${expected} was ${JSON.stringify(x)}`);
      expected += 1;
    }
    const took = Date.now() - t0;
    assert.equal(expected, 10_000);
    const after = await serverStats(server);
    assert.equal(after.router.items_sent - before.router.items_sent, 10_000);
    assert.equal(after.router.in_flight, 0);
    assert.deepEqual(sc.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
    const acks = counting.sent.get("ack") ?? 0;
    const late = after.router.unknown_acks - before.router.unknown_acks;
    t.diagnostic(`10,000 items in ${took} ms; the client sent ${acks} acks (${late} after the stream had ended), received ${counting.received()} frames`);
    // The consumer acks at least every 32 items it takes, and when it waits with nothing held
    // (so at most once per item); 10,000 items cross the host's window only if acks flow.
    assert.ok(acks >= Math.floor(10_000 / 32 / 2) && acks <= 10_000, `${acks} acks`);
    // The host sends the last window's items and its reply without waiting for acks: acks of
    // those items may arrive once the call is over (counted as unknown_acks, never answered).
    assert.ok(late < acks, `${late} of ${acks} acks after the end`);

    // A plain call of a stream command: the items are dropped (and acknowledged, beyond the
    // window), the call resolves with the stream's `null`.
    assert.equal(await sc.call("api.count", { n: 1000 }), null);
    sc.connection.close();
  });

  test("break out of a stream: the server's generator is closed (its finally ran), nothing stays in flight", async (t) => {
    const before = await serverStats(server);
    const closed = (await av.call("api.finally_count")) as number;
    const unmatched = av.stats().unmatched;
    const got: number[] = [];
    for await (const x of av.stream("api.forever")) {
      got.push(x as number);
      if (x === 10) break;
    }
    assert.deepEqual(got, Array.from({ length: 11 }, (_, i) => i));
    const ms = await finallyRan(av, closed + 1, 5000);
    t.diagnostic(`api.forever's finally seen ${ms} ms after the break`);
    assert.equal(av.stats().pending, 0);
    const after = await serverStats(server);
    assert.equal(after.router.in_flight, 0, "nothing in flight on the server");
    assert.equal(after.router.cancelled - before.router.cancelled, 1, "the break cancelled the call once");
    // The `cancelled` reply and the items already on their way are expected, not unmatched.
    assert.equal(await av.call("api.echo", { value: "after" }), "after");
    assert.equal(av.stats().unmatched, unmatched);
  });

  test("an AbortSignal ends a stream with InvokeError cancelled; the server's generator is closed", async () => {
    const closed = (await av.call("api.finally_count")) as number;
    const controller = new AbortController();
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of av.stream("api.forever", undefined, { signal: controller.signal })) {
          got.push(x as number);
          if (x === 5) controller.abort();
        }
      })(),
      (e: unknown) => {
        assert.ok(e instanceof InvokeError, String(e));
        assert.equal(e.code, "cancelled");
        assert.equal(e.name, "AbortError");
        return true;
      },
    );
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5], "nothing after the abort");
    await finallyRan(av, closed + 1, 5000);
    assert.equal(av.stats().pending, 0);
    assert.equal((await serverStats(server)).router.in_flight, 0);
    // Aborted before it starts: no call at all.
    const invocations = await av.call("api.invocations");
    await assert.rejects(async () => {
      for await (const _ of av.stream("api.count", { n: 3 }, { signal: controller.signal })) assert.fail("an item");
    }, code("cancelled"));
    assert.equal(await av.call("api.invocations"), invocations);
  });

  test("an error after items: the items, then the structured error (name, code, message, data)", async () => {
    const got: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const x of av.stream("api.fails_after", { n: 3 })) got.push(x);
      })(),
      (e: unknown) => {
        assert.ok(e instanceof InvokeError, String(e));
        assert.deepEqual([e.name, e.code, e.message, e.data], ["NotFound", "not_found", "no item 3 here", { after: 3 }]);
        return true;
      },
    );
    assert.deepEqual(got, [0, 1, 2]);
    // Invalid params end a stream before its first item, as they fail a call.
    await assert.rejects(async () => {
      for await (const _ of av.stream("api.count", { n: -1 })) assert.fail("an item");
    }, code("invalid_params"));
  });

  test("a channel: every item reaches onItem, in order, before the result", { timeout: 30_000 }, async () => {
    const log: unknown[] = [];
    let settled = false;
    const result = await av
      .call("api.export", { path: "/tmp/out", total: 3 }, { onItem: (p) => log.push(settled ? "after the result!" : p) })
      .then((r) => ((settled = true), r));
    log.push(result);
    assert.deepEqual(log, [{ done: 1, total: 3 }, { done: 2, total: 3 }, { done: 3, total: 3 }, "/tmp/out"]);

    // Beyond the window (256): the channel's acks let `send` go on.
    const dones: number[] = [];
    assert.equal(await av.call("api.export", { path: "big", total: 5000 }, { onItem: (p) => dones.push((p as { done: number }).done) }), "big");
    assert.equal(dones.length, 5000);
    assert.ok(dones.every((d, i) => d === i + 1), "in order");
    assert.equal(av.stats().pending, 0);
  });

  test("the server SIGKILLed mid-stream: the for await throws disconnected at once (no hang)", { timeout: 60_000 }, async (t) => {
    const own = await start(CMD!); // its own server: the one the other tests use stays up
    const kc = client(own, { baseDelayMs: 50, maxDelayMs: 500 });
    await kc.ready;
    let seen = 0;
    let killedAt = 0;
    const loop = (async () => {
      for await (const x of kc.stream("api.forever")) {
        assert.equal(x, seen);
        seen += 1;
        if (seen === 100) {
          signal(own, "SIGKILL");
          killedAt = Date.now();
        }
      }
      return "ended";
    })();
    const outcome = await Promise.race([
      loop.then(
        (v) => v,
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r("hung"), 10_000)),
    ]);
    const took = Date.now() - killedAt;
    assert.ok(outcome instanceof InvokeError, `the loop ended with ${String(outcome)}`);
    assert.equal(outcome.code, "disconnected");
    assert.ok(seen >= 100, `${seen} items`);
    assert.ok(took < 2000, `thrown ${took} ms after the kill`);
    assert.equal(kc.stats().pending, 0);
    t.diagnostic(`disconnected thrown ${took} ms after SIGKILL, after ${seen} items`);
    await own.exited;
    kc.connection.close();
  });

  test("1,000 concurrent clients each make a call", { timeout: 120_000 }, async (t) => {
    const soft = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
    if (Number.isFinite(soft) && soft < 1200) {
      // In CI this must run (scripts/test.sh raises the limit): a skip there would hide it.
      if (process.env.CI) assert.fail(`ulimit -n is ${soft}: 1,000 sockets need more`);
      t.skip(`ulimit -n is ${soft}: 1,000 sockets need more (raise it in the shell running the tests)`);
      return;
    }
    const many = Array.from({ length: 1000 }, () => client(server, { connectTimeoutMs: 30_000 }));
    try {
      const results = await Promise.all(many.map((c, i) => c.call("api.echo", { value: i }, { timeout: 60_000 })));
      assert.deepEqual(results, Array.from({ length: 1000 }, (_, i) => i));
      assert.ok(many.every((c) => c.state === "open"));
      assert.equal(new Set(many.map((c) => c.connection.info?.conn)).size, 1000, "1,000 distinct connections");
    } finally {
      for (const c of many) c.connection.close();
    }
  });

  test("a stopped server (SIGSTOP) is found dead by the heartbeat (4002); after SIGCONT the client is back", { timeout: 60_000 }, async () => {
    const hb = client(server, { heartbeatMs: 200, heartbeatTimeoutMs: 300, connectTimeoutMs: 1000, baseDelayMs: 50, maxDelayMs: 500 });
    const lost = disconnects(hb);
    await hb.ready;
    const inFlight = hb.call("api.sleep", { seconds: 30 });
    await new Promise((r) => setTimeout(r, 100)); // the call reached the server
    signal(server, "SIGSTOP");
    const t0 = Date.now();
    try {
      await assert.rejects(inFlight, code("disconnected"));
      const took = Date.now() - t0;
      assert.ok(took < 3000, `noticed after ${took} ms`);
      assert.equal(lost[0]?.code, 4002);
      assert.equal(lost[0]?.willReconnect, true);
    } finally {
      signal(server, "SIGCONT");
    }
    await waitFor(() => hb.state === "open", 20_000, "the reconnection after SIGCONT");
    assert.equal(await hb.call("api.echo", { value: "back" }), "back");
    hb.connection.close();
  });

  test("SIGKILL, then a restart on the same port and token: rejected at once, reconnected, listeners kept", { timeout: 90_000 }, async () => {
    const rc = client(server, { baseDelayMs: 50, maxDelayMs: 500 });
    const lost = disconnects(rc);
    await rc.ready;
    const got: unknown[] = [];
    rc.on("tick", (p) => got.push(p));
    const inFlight = rc.call("api.sleep", { seconds: 30 });
    await new Promise((r) => setTimeout(r, 100));
    signal(server, "SIGKILL");
    const t0 = Date.now();
    await assert.rejects(inFlight, code("disconnected"));
    assert.ok(Date.now() - t0 < 2000, "rejected when the socket dropped");
    assert.equal(lost[0]?.willReconnect, true);
    await server.exited;
    await assert.rejects(rc.call("api.echo", { value: 1 }), code("disconnected")); // not queued for later
    server = await start(again(CMD!, server.port, server.token));
    await waitFor(() => rc.state === "open", 30_000, "the reconnection to the restarted server");
    assert.deepEqual(await rc.call("api.add", { a: 2, b: 3 }), { total: 5 });
    assert.equal(await rc.call("api.emit", { event: "tick", payload: {}, count: 1 }), 1);
    await waitFor(() => got.length === 1, 5000, "an event on the new connection");
    assert.deepEqual(got, [{ i: 0 }]);
  });

  test("topics: publish and subscribe between clients; after SIGKILL and a restart, recovered:false with a new epoch before newer messages", { timeout: 90_000 }, async () => {
    const reader = client(server, { baseDelayMs: 50, maxDelayMs: 500 });
    const writer = client(server, { baseDelayMs: 50, maxDelayMs: 500 });
    const log: unknown[] = [];
    const sub = reader.subscribe("notes", (note, p) => void log.push(["msg", (note as { text: string }).text, p.offset]), {
      onRecovery: (info) => void log.push(["recovery", info.recovered, info.epoch]),
    });
    const { epoch, offset } = await sub.ready;
    const a = await writer.publish("notes", { text: "a" });
    const b = await writer.publish("notes", { text: "b" });
    assert.equal(a.epoch, epoch);
    assert.deepEqual([a.offset, b.offset], [offset + 1, offset + 2]);
    await waitFor(() => log.length === 2, 5000, "two notes");
    assert.deepEqual(log, [["msg", "a", offset + 1], ["msg", "b", offset + 2]]);
    // The payload is validated against Note; a second local subscriber shares the wire subscription.
    await assert.rejects(writer.publish("notes", { text: 3 }), code("invalid_params"));
    await assert.rejects(writer.subscribe("no/such/topic", () => {}).ready, code("unknown_topic"));
    const also = reader.subscribe("notes", () => {});
    assert.equal((await also.ready).offset, offset + 2);
    await also.unsubscribe();

    signal(server, "SIGKILL");
    await server.exited;
    server = await start(again(CMD!, server.port, server.token));
    await waitFor(() => reader.state === "open" && writer.state === "open", 30_000, "the reconnections to the restarted server");
    await waitFor(() => log.length === 3, 10_000, "the resubscription's answer");
    const [, recovered, newEpoch] = log[2] as [string, boolean, string];
    assert.equal(recovered, false);
    assert.notEqual(newEpoch, epoch, "a restarted process has a new epoch");
    const c = await writer.publish("notes", { text: "c" });
    assert.equal(c.epoch, newEpoch);
    await waitFor(() => log.length === 4, 5000, "a note after the restart");
    assert.deepEqual(log[3], ["msg", "c", c.offset]);
    assert.equal(reader.stats().duplicates, 0);
    await sub.unsubscribe();
  });
});
