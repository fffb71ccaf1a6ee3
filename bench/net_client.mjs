// The load generator of bench/net.py for WebSocket servers: auroraview's network transport
// and the bare echo floor, with the same client, the same frames and the same work per reply.
//
//   node bench/net_client.mjs '{"url": "ws://127.0.0.1:PORT/__auroraview/ws", "token": "…", ...}'
//
// One JSON argument (see `defaults`), one JSON line on stdout. Three measurements:
//
// - seq:   `seq` round trips one at a time, each timed with process.hrtime.bigint (µs).
// - pipe:  `pipe` calls on one connection with `window` in flight (a new call leaves as
//          each reply arrives), timed from the first send to the last reply.
// - conns: `conns` connections opened (and welcomed) first, then `per_conn` calls on each,
//          one in flight per connection (`conns` in flight in all).
//
// client "raw": frames written and read with the `ws` package directly; a reply is matched by
// the `id` of its JSON (the echo floor sends the call back, auroraview a `call_result`), so
// both servers get the same client work. client "sdk": the same through `@auroraview/sdk`
// (createAuroraView + av.call), ours only. With `server_pid`, the server's CPU (/proc) is
// sampled around each timed section, like this process's own (process.cpuUsage).

import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = path.join(here, "..", "sdk-ts");
const require = createRequire(path.join(sdkDir, "package.json"));
const WebSocket = require("ws");

const defaults = {
  url: "",
  token: null, // null: no credentials (the echo floor)
  client: "raw", // "raw" | "sdk"
  method: "noop",
  warmup: 500,
  seq: 5000,
  pipe: 50000,
  window: 256,
  conns: 100,
  per_conn: 500,
  server_pid: 0,
  clk_tck: 100,
  only: ["seq", "pipe", "conns"],
};
const opt = { ...defaults, ...JSON.parse(process.argv[2] ?? "{}") };

// -- CPU ------------------------------------------------------------------------------------

/** The server's CPU so far: the sum of se.sum_exec_runtime over its threads (µs precision)
 * and utime/stime in clock ticks for the user/system split. */
function serverCpu() {
  if (!opt.server_pid) return null;
  // pid (comm) state ... field 14 utime, 15 stime; comm may contain spaces: split after ')'.
  const stat = readFileSync(`/proc/${opt.server_pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const user = Number(f[11]) / opt.clk_tck;
  const sys = Number(f[12]) / opt.clk_tck;
  let execMs = 0;
  let found = false;
  for (const tid of readdirSync(`/proc/${opt.server_pid}/task`)) {
    try {
      const m = /se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(readFileSync(`/proc/${opt.server_pid}/task/${tid}/sched`, "utf8"));
      if (m) {
        execMs += Number(m[1]);
        found = true;
      }
    } catch {
      // the thread ended meanwhile, or no CONFIG_SCHED_DEBUG
    }
  }
  return { exec: found ? execMs / 1000 : user + sys, user, sys };
}

/** Run `fn` (async), return its result with wall time and CPU of both processes. */
async function timed(fn) {
  const s0 = serverCpu();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const out = await fn();
  const wall_s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const s1 = serverCpu();
  const cpu = { client_user_s: c.user / 1e6, client_sys_s: c.system / 1e6 };
  if (s0 && s1) {
    cpu.server_exec_s = s1.exec - s0.exec;
    cpu.server_user_s = s1.user - s0.user;
    cpu.server_sys_s = s1.sys - s0.sys;
  }
  return { out, wall_s, cpu };
}

// -- raw frames -----------------------------------------------------------------------------

/** A connection whose `call()` sends the same frame a client of ours would and resolves when
 * the frame with that id comes back. */
function rawConnect() {
  return new Promise((resolve, reject) => {
    // Ours authenticates at the upgrade (docs/network.md); the floor takes no credentials.
    const headers = opt.token === null ? {} : { Authorization: `Bearer ${opt.token}` };
    const ws = new WebSocket(opt.url, { perMessageDeflate: false, headers });
    const pending = new Map();
    let nextId = 1;
    let welcomed = opt.token === null;
    const conn = {
      call() {
        const id = nextId++;
        return new Promise((res, rej) => {
          pending.set(id, { res, rej });
          ws.send(`{"type":"call","id":${id},"method":"${opt.method}"}`);
        });
      },
      close() {
        ws.close(1000);
      },
    };
    ws.on("error", reject);
    ws.on("close", (code) => {
      for (const p of pending.values()) p.rej(new Error(`closed ${code}`));
      pending.clear();
      if (!welcomed) reject(new Error(`closed ${code} before the welcome`));
    });
    ws.on("open", () => {
      if (opt.token === null) resolve(conn);
    });
    ws.on("message", (data, isBinary) => {
      const msg = JSON.parse(isBinary ? data.toString() : data.toString());
      if (!welcomed) {
        if (msg.type !== "welcome") return reject(new Error(`expected a welcome, got ${data}`));
        welcomed = true;
        return resolve(conn);
      }
      if (msg.type === "ping") return ws.send('{"type":"pong"}');
      const p = pending.get(msg.id);
      if (p === undefined) return;
      pending.delete(msg.id);
      if (msg.type === "call_result" && msg.ok === false) p.rej(new Error(JSON.stringify(msg.error)));
      else p.res(msg.result);
    });
  });
}

// -- the SDK --------------------------------------------------------------------------------

async function sdkConnect() {
  const sdk = await import(pathToFileURL(path.join(sdkDir, "dist", "index.js")).href);
  const av = sdk.createAuroraView({ url: opt.url, token: opt.token, WebSocket });
  await av.ready;
  return {
    call: () => av.call(opt.method),
    close: () => av.connection.close(),
  };
}

const connect = opt.client === "sdk" ? sdkConnect : rawConnect;

// -- the measurements -----------------------------------------------------------------------

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function seq(conn) {
  for (let i = 0; i < opt.warmup; i++) await conn.call();
  const samples = new Float64Array(opt.seq);
  const { wall_s, cpu } = await timed(async () => {
    for (let i = 0; i < opt.seq; i++) {
      const t0 = process.hrtime.bigint();
      await conn.call();
      samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  });
  samples.sort();
  return { n: opt.seq, median_us: pct(samples, 0.5), p99_us: pct(samples, 0.99), wall_s, cpu };
}

/** `total` calls over `conns`, `inFlight` at a time on each: a chain per slot, each sending
 * its next call when its reply arrives. */
function chains(conns, inFlight, total) {
  let sent = 0;
  return new Promise((resolve, reject) => {
    let live = 0;
    const next = (conn) => {
      if (sent >= total) {
        if (--live === 0) resolve();
        return;
      }
      sent++;
      conn.call().then(() => next(conn), reject);
    };
    for (const conn of conns) {
      for (let i = 0; i < inFlight; i++) {
        live++;
        next(conn);
      }
    }
  });
}

async function pipe(conn) {
  await chains([conn], opt.window, Math.min(opt.pipe, 2000)); // warm-up
  const { wall_s, cpu } = await timed(() => chains([conn], opt.window, opt.pipe));
  return { n: opt.pipe, window: opt.window, per_s: opt.pipe / wall_s, wall_s, cpu };
}

async function manyConns() {
  const conns = [];
  try {
    for (let i = 0; i < opt.conns; i++) conns.push(await connect());
    await chains(conns, 1, opt.conns * 10); // warm-up
    const total = opt.conns * opt.per_conn;
    const { wall_s, cpu } = await timed(() => chains(conns, 1, total));
    return { n: total, conns: opt.conns, per_s: total / wall_s, wall_s, cpu };
  } finally {
    for (const c of conns) c.close();
  }
}

async function main() {
  const result = { client: opt.client, method: opt.method, node: process.version };
  const conn = await connect();
  try {
    if (opt.only.includes("seq")) result.seq = await seq(conn);
    if (opt.only.includes("pipe")) result.pipe = await pipe(conn);
  } finally {
    conn.close();
  }
  if (opt.only.includes("conns")) result.conns = await manyConns();
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`net_client: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
