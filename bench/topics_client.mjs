// The subscribers of bench/topics.py: `subs` connections subscribed to one topic, counting
// what reaches them, and (for ours) the publish-to-delivery latency of every message.
//
//   node bench/topics_client.mjs '{"mode": "ours", "nodes": [{"url": "ws://…", "token": "…"}], ...}'
//
// mode "ours":  WebSocket connections spread round-robin over `nodes` (auroraview servers),
//               each subscribing with `auroraview.subscribe` (frames read by `rawWs`, below); one more connection to the first
//               node publishes (`auroraview.publish` calls). Two phases: burst (`burst`
//               publishes sent at once, pipelined: deliveries/s from the first send to the last
//               delivery) and paced (`paced` publishes at `rate`/s: latency from the clock in
//               the message, set when it was sent, to its arrival here).
//               Every connection's offsets are checked: consecutive, none twice.
//               With `batch` (the default), connections offer `auroraview.batch`, as the
//               SDK and the Python client do: messages queued together arrive as one
//               WebSocket message (a JSON array, docs/network.md); `"batch": false` reads
//               one message per WebSocket message.
// mode "redis" / "nats": the floor, the broker alone: `subs` raw TCP connections subscribed
//               to one channel / subject, and one raw publisher sending `burst` messages of
//               the same JSON, pipelined; deliveries/s from the first send to the last arrival.
//
// One JSON line on stdout.

import net from "node:net";


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
  batch: true,
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

// -- a minimal WebSocket client ---------------------------------------------------------------

/** A WebSocket over a raw socket, reading frames itself: the subscribers' per-message work is
 * then a header and an `indexOf`, as the floor's is a count of its protocol's marker, so the
 * two rates compare the servers, not `ws`'s event machinery. Text frames only (the server
 * sends nothing else here); `on("message", buf)`, `send(text)`, `terminate()`. */
function rawWs(url, token) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) });
    s.setNoDelay(true);
    // Frames that arrive before `on("message")` (the welcome, read with the upgrade's answer)
    // wait for it.
    const early = [];
    const handlers = { message: (payload) => early.push(Buffer.from(payload)), close: () => {} };
    let buf = Buffer.alloc(0);
    let open = false;
    const conn = {
      on(name, fn) {
        handlers[name] = fn;
        if (name === "message") for (const payload of early.splice(0)) fn(payload);
      },
      send(text) {
        const payload = Buffer.from(text);
        const mask = Buffer.from([1, 2, 3, 4]);
        const n = payload.length;
        const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : n < 65536 ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255]) : null;
        if (head === null) throw new Error("frame too large for this client");
        for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3];
        s.write(Buffer.concat([head, mask, payload]));
      },
      terminate() { s.destroy(); },
    };
    s.on("connect", () => {
      s.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${Buffer.from("auroraview-bench!").toString("base64").slice(0, 22)}==\r\n` +
          `Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n` +
          (opt.batch ? "Sec-WebSocket-Protocol: auroraview.batch, auroraview\r\n" : "") +
          "\r\n",
      );
    });
    s.on("data", (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!open) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = buf.toString("latin1", 0, end);
        if (!status.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${status.slice(0, 200)}`));
        open = true;
        buf = buf.subarray(end + 4);
        resolve(conn);
      }
      let at = 0;
      while (buf.length - at >= 2) {
        let len = buf[at + 1] & 0x7f;
        let head = 2;
        if (len === 126) {
          if (buf.length - at < 4) break;
          len = buf.readUInt16BE(at + 2);
          head = 4;
        } else if (len === 127) {
          if (buf.length - at < 10) break;
          len = Number(buf.readBigUInt64BE(at + 2));
          head = 10;
        }
        if (buf.length - at < head + len) break;
        const opcode = buf[at] & 0x0f;
        const payload = buf.subarray(at + head, at + head + len);
        at += head + len;
        if (opcode === 1) handlers.message(payload);
        else if (opcode === 8) s.destroy();
      }
      buf = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
    });
    s.on("close", () => handlers.close(1006));
    s.on("error", (e) => (open ? undefined : reject(e)));
  });
}

/** Whether `buf` holds `token` at `at` (compared here: shorter than a call into `indexOf`). */
function startsAt(buf, at, token) {
  if (at < 0 || at + token.length > buf.length) return false;
  for (let i = 0; i < token.length; i++) if (buf[at + i] !== token[i]) return false;
  return true;
}

// -- ours -----------------------------------------------------------------------------------

async function ours() {
  const state = { delivered: 0, last: 0, lat: [], orderErrors: 0, closed: 0, messages: 0 };
  let recordLatency = false;

  const PUBLICATION = Buffer.from('{"type":"publication"');
  const OFFSET = Buffer.from('"offset":');
  const T = Buffer.from('"t":');
  const CALL_RESULT = Buffer.from('{"type":"call_result"');

  async function open(node, subscribe) {
    const ws = await rawWs(node.url, node.token);
    const conn = { ws, next: 0, pending: new Map(), nextId: 1 };
    let welcome;
    const welcomed = new Promise((resolve, reject) => (welcome = { resolve, reject }));
    let greeted = false;
    /** Where `"offset":` starts from a publication's start: one topic and one epoch, so
     * the same in every publication (checked each time, found again if not). */
    let delta = -1;
    /** The publication at `at` in `payload` (its offset and the publisher's clock, read
     * without parsing the message). */
    const publication = (payload, at) => {
      let i = at + delta;
      if (delta < 0 || !startsAt(payload, i, OFFSET)) {
        i = payload.indexOf(OFFSET, at);
        delta = i - at;
      }
      i += OFFSET.length;
      let offset = 0;
      for (let c = payload[i]; c >= 48 && c <= 57; c = payload[++i]) offset = offset * 10 + (c - 48);
      if (conn.next !== 0 && offset !== conn.next) state.orderErrors += 1;
      conn.next = offset + 1;
      state.delivered += 1;
      if (recordLatency) {
        const ts = payload.indexOf(T, at) + T.length;
        state.lat.push(now() - Number(payload.toString("latin1", ts, payload.indexOf(",", ts))));
      }
    };
    const other = (msg) => {
      if (!greeted) {
        greeted = true;
        return msg.type === "welcome" ? welcome.resolve() : welcome.reject(new Error(`expected a welcome, got ${JSON.stringify(msg).slice(0, 200)}`));
      }
      if (msg.type === "call_result") {
        const p = conn.pending.get(msg.id);
        conn.pending.delete(msg.id);
        if (p) msg.ok === false ? p.reject(new Error(JSON.stringify(msg.error))) : p.resolve(msg.result);
      }
    };
    ws.on("message", (payload) => {
      state.messages += 1;
      state.last = now(); // every delivery in one message arrived at once
      if (payload[0] === 0x5b) {
        // A batch: its publications found by their marker; a reply in it parsed.
        for (let at = payload.indexOf(PUBLICATION); at >= 0; at = payload.indexOf(PUBLICATION, at + PUBLICATION.length)) {
          publication(payload, at);
        }
        if (payload.indexOf(CALL_RESULT) >= 0) for (const msg of JSON.parse(payload.toString())) if (msg.type !== "publication") other(msg);
        return;
      }
      if (payload.length > PUBLICATION.length && startsAt(payload, 0, PUBLICATION)) {
        publication(payload, 0);
        return;
      }
      other(JSON.parse(payload.toString()));
    });
    ws.on("close", () => {
      state.closed += 1;
      if (!greeted) welcome.reject(new Error("closed before the welcome"));
    });
    await welcomed;
    if (subscribe) {
      const r = await call(conn, "auroraview.subscribe", { topic: opt.topic });
      conn.next = r.offset + 1;
    }
    return conn;
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
  const burst = { deliveries: state.delivered, messages: state.messages, seconds: (state.last - t0) / 1000, failed, publish_s: publishS };

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
