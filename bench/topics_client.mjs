// The subscribers of bench/topics.py: `subs` connections subscribed to one topic, counting
// what reaches them, and (for ours) the publish-to-delivery latency of every message.
//
//   node bench/topics_client.mjs '{"mode": "ours", "nodes": [{"url": "ws://…", "token": "…"}], ...}'
//
// mode "ours":  WebSocket connections spread round-robin over `nodes` (auroraview servers),
//               each subscribing with `auroraview.subscribe`; one more connection to the first
//               node publishes (`auroraview.publish` calls). Two phases: burst (`burst`
//               publishes sent at once, pipelined: deliveries/s from the first send to the last
//               delivery) and paced (`paced` publishes at `rate`/s: latency from the clock in
//               the message, set when it was sent, to its arrival here).
//               Every connection's offsets are checked: consecutive, none twice.
// mode "redis" / "nats": the floor, the broker alone: `subs` raw TCP connections subscribed
//               to one channel / subject, and one raw publisher sending `burst` messages of
//               the same JSON, pipelined; deliveries/s from the first send to the last arrival.
//
// One JSON line on stdout.

import { createRequire } from "node:module";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "sdk-ts", "package.json"));
const WebSocket = require("ws");

const opt = {
  mode: "ours",
  nodes: [],
  host: "127.0.0.1",
  port: 0,
  topic: "bench/topic",
  subs: 1000,
  burst: 300,
  paced: 200,
  rate: 50,
  size: 64,
  timeout_s: 120,
  ...JSON.parse(process.argv[2] ?? "{}"),
};

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function until(cond, what) {
  const deadline = Date.now() + opt.timeout_s * 1000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

// -- ours -----------------------------------------------------------------------------------

async function ours() {
  const state = { delivered: 0, last: 0, lat: [], orderErrors: 0, closed: 0 };
  let recordLatency = false;

  function open(node, subscribe) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(node.url, { perMessageDeflate: false, headers: { Authorization: `Bearer ${node.token}` } });
      const conn = { ws, next: 0, pending: new Map(), nextId: 1 };
      let welcomed = false;
      ws.on("message", (data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"publication"')) {
          // The offset and the publisher's clock, read without parsing the whole frame.
          const at = text.indexOf('"offset":') + 9;
          const offset = Number(text.slice(at, text.indexOf(",", at)));
          if (conn.next !== 0 && offset !== conn.next) state.orderErrors += 1;
          conn.next = offset + 1;
          state.delivered += 1;
          const t = now();
          state.last = t;
          if (recordLatency) {
            const ts = text.indexOf('"t":') + 4;
            state.lat.push(t - Number(text.slice(ts, text.indexOf(",", ts))));
          }
          return;
        }
        const msg = JSON.parse(text);
        if (!welcomed) {
          if (msg.type !== "welcome") return reject(new Error(`expected a welcome, got ${text.slice(0, 200)}`));
          welcomed = true;
          if (!subscribe) return resolve(conn);
          call(conn, "auroraview.subscribe", { topic: opt.topic }).then((r) => {
            conn.next = r.offset + 1;
            resolve(conn);
          }, reject);
          return;
        }
        if (msg.type === "call_result") {
          const p = conn.pending.get(msg.id);
          conn.pending.delete(msg.id);
          if (p) msg.ok === false || msg.error ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result);
        }
      });
      ws.on("close", (code) => {
        state.closed += 1;
        if (!welcomed) reject(new Error(`closed ${code} before the welcome`));
      });
      ws.on("error", (e) => {
        if (!welcomed) reject(e);
      });
    });
  }

  function call(conn, method, params) {
    const id = conn.nextId++;
    return new Promise((resolve, reject) => {
      conn.pending.set(id, { resolve, reject });
      conn.ws.send(JSON.stringify({ type: "call", id, method, params }));
    });
  }

  const conns = [];
  for (let i = 0; i < opt.subs; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(opt.subs, i + 50); j++) batch.push(open(opt.nodes[j % opt.nodes.length], true));
    conns.push(...(await Promise.all(batch)));
  }
  const control = await open(opt.nodes[0], false);

  // Burst: every publish sent at once, pipelined (as the floor's publisher does).
  const publish = (i) =>
    call(control, "auroraview.publish", { topic: opt.topic, data: { t: now(), i, pad: "x".repeat(opt.size) } }).then(
      () => 0,
      () => 1,
    );
  let t0 = now();
  let failed = (await Promise.all(Array.from({ length: opt.burst }, (_, i) => publish(i)))).reduce((a, b) => a + b, 0);
  const publishS = (now() - t0) / 1000;
  const burstWant = opt.subs * (opt.burst - failed);
  await until(() => state.delivered >= burstWant, `${burstWant} deliveries (burst; got ${state.delivered})`);
  const burst = { deliveries: state.delivered, seconds: (state.last - t0) / 1000, failed, publish_s: publishS };

  // Paced: one publish every 1/rate s.
  state.delivered = 0;
  recordLatency = true;
  const pending = [];
  t0 = now();
  for (let i = 0; i < opt.paced; i++) {
    const wait = t0 + (i * 1000) / opt.rate - now();
    if (wait > 0) await sleep(wait);
    pending.push(publish(i));
  }
  failed = (await Promise.all(pending)).reduce((a, b) => a + b, 0);
  const pacedWant = opt.subs * (opt.paced - failed);
  await until(() => state.delivered >= pacedWant, `${pacedWant} deliveries (paced; got ${state.delivered})`);
  const lat = Float64Array.from(state.lat).sort();
  const out = {
    burst,
    paced: { deliveries: state.delivered, p50_ms: percentile(lat, 50), p99_ms: percentile(lat, 99), max_ms: lat[lat.length - 1] ?? null, failed },
    order_errors: state.orderErrors,
    closed: state.closed,
  };
  for (const c of [...conns, control]) c.ws.terminate();
  return out;
}

// -- the brokers alone ------------------------------------------------------------------------

function counter(token) {
  // Occurrences of `token` across chunks (a token may straddle two).
  let tail = Buffer.alloc(0);
  return (chunk) => {
    const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
    let n = 0;
    for (let i = buf.indexOf(token); i !== -1; i = buf.indexOf(token, i + token.length)) n += 1;
    tail = buf.subarray(Math.max(0, buf.length - (token.length - 1)));
    return n;
  };
}

function connect() {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: opt.host, port: opt.port }, () => resolve(s));
    s.setNoDelay(true);
    s.once("error", reject);
  });
}

function firstData(s) {
  return new Promise((resolve) => s.once("data", resolve));
}

async function floor() {
  const redis = opt.mode === "redis";
  const payload = JSON.stringify({ t: now(), i: 0, pad: "x".repeat(opt.size) });
  const subject = opt.topic.replace(/\//g, ".");
  const state = { delivered: 0, last: 0 };
  const subscribers = [];
  for (let i = 0; i < opt.subs; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(opt.subs, i + 50); j++) {
      batch.push(
        (async () => {
          const s = await connect();
          if (redis) {
            const ready = firstData(s);
            s.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(opt.topic)}\r\n${opt.topic}\r\n`);
            await ready;
          } else {
            await firstData(s); // INFO
            const ready = firstData(s);
            s.write(`CONNECT {"verbose":false,"pedantic":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
            await ready; // PONG
          }
          const count = counter(Buffer.from(redis ? "message\r\n" : "MSG "));
          s.on("data", (chunk) => {
            const n = count(chunk);
            if (n) {
              state.delivered += n;
              state.last = now();
            }
          });
          return s;
        })(),
      );
    }
    subscribers.push(...(await Promise.all(batch)));
  }
  const pub = await connect();
  if (!redis) {
    await firstData(pub);
    pub.write(`CONNECT {"verbose":false,"pedantic":false}\r\n`);
  }
  pub.on("data", () => {}); // replies (Redis) / PONGs (NATS)
  const len = Buffer.byteLength(payload);
  const one = redis
    ? `*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(opt.topic)}\r\n${opt.topic}\r\n$${len}\r\n${payload}\r\n`
    : `PUB ${subject} ${len}\r\n${payload}\r\n`;
  const t0 = now();
  pub.write(one.repeat(opt.burst));
  const want = opt.subs * opt.burst;
  await until(() => state.delivered >= want, `${want} deliveries (${opt.mode} floor; got ${state.delivered})`);
  const out = { burst: { deliveries: state.delivered, seconds: (state.last - t0) / 1000 } };
  for (const s of [...subscribers, pub]) s.destroy();
  return out;
}

try {
  const result = opt.mode === "ours" ? await ours() : await floor();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e?.stack ?? e) }) + "\n");
  process.exit(1);
}
