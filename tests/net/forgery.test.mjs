// RELIABILITY.md case 28 over the network: a script of a page served by `auroraview serve`
// cannot forge the server's replies or events to the client (/__auroraview/client.js), in a
// real headless Chromium. tests/e2e/test_forgery.py is the same for a native window.
//
// The page (forgery_page/forgery.js, app forgery_app.py) starts calls whose handlers wait for
// `release`, then tries everything a page script has: `trigger`; made-up MessageEvents on the
// client's socket (got through WebSocket.prototype hooks) and its handler called with them,
// with the `target`/`data` getters replaced, or with a trusted event from a socket of its own
// whose frame the server shaped (`echo`); frames with the pending calls' ids sent on the
// client's socket; JSON.parse / Array.isArray / the `data` getter replaced and Object.prototype
// polluted while real frames arrive; Map/Set/Array.from/Promise/setTimeout/Proxy/
// addEventListener hooked to see a resolver or listener. Then the calls must still be pending
// and no listener may have seen a fake event; after `release` the real results arrive.
//
// Needs what outliner.test.mjs needs (the venv with the extension built, the system Chromium).
// AURORAVIEW_NET_CLIENT=FILE serves FILE as /__auroraview/client.js instead (through the
// browser's request interception), to see this test fail against an older client:
//     git show ad70cde:src/net/client.gen.js > /tmp/old_client.gen.js
//     AURORAVIEW_NET_CLIENT=/tmp/old_client.gen.js node --test forgery.test.mjs

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const AURORAVIEW = join(ROOT, ".venv/bin/auroraview");
const CHROMIUM = process.env.AURORAVIEW_CHROMIUM ?? "/usr/bin/chromium";
const OTHER_CLIENT = process.env.AURORAVIEW_NET_CLIENT;
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const run = promisify(execFile);

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Pids of the processes whose command line holds `needle` (our unique profile folder). */
function pidsWith(needle) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "latin1").includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function killAll(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
}

// ── the processes this file starts, and how each is ended ─────────────────────────────
let server;
let serverLog = "";
let ready; // { url, ws_url, host, port, token }
let profile;
let context;
let page;
const consoleLog = [];

function startServer() {
  server = spawn(
    AURORAVIEW,
    ["serve", "tests/net/forgery_app.py:commands", "--assets", "tests/net/forgery_page", "--port", "0", "--json", "--metrics"],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stderr.setEncoding("utf8").on("data", (d) => (serverLog += d));
  return within(
    new Promise((resolve, reject) => {
      createInterface({ input: server.stdout }).once("line", (line) => resolve(JSON.parse(line)));
      server.once("error", reject);
      server.once("exit", (code) => reject(new Error(`auroraview serve exited (${code}) before it was ready:\n${serverLog}`)));
    }),
    20_000,
    "auroraview serve --json",
  );
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  try {
    await within(exited, 5_000, "auroraview serve after SIGTERM");
  } catch {
    server.kill("SIGKILL");
    await within(exited, 5_000, "auroraview serve after SIGKILL").catch(() => {});
    throw new Error("auroraview serve did not stop on SIGTERM within 5 s (killed)");
  }
}

function stopEverythingNow() {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
  if (profile) {
    killAll(pidsWith(profile));
    rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  }
}
process.once("exit", stopEverythingNow);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    stopEverythingNow();
    process.exit(130);
  });
}

const base = () => `http://127.0.0.1:${ready.port}`;

async function stats() {
  const res = await fetch(`${base()}/__auroraview/stats`, { headers: { Authorization: `Bearer ${ready.token}` } });
  assert.equal(res.status, 200);
  return res.json();
}

async function cliCall(method, params) {
  const { stdout } = await run(AURORAVIEW, ["call", ready.url, method, JSON.stringify(params), "--compact"], {
    cwd: ROOT,
    timeout: 15_000,
  });
  return JSON.parse(stdout);
}

const calls = (s, name) => s.commands.find((c) => c.name === name)?.calls ?? 0;

describe("page scripts cannot forge the server's replies or events (headless Chromium)", { timeout: 50_000 }, () => {
  before(async () => {
    assert.ok(existsSync(AURORAVIEW), `${AURORAVIEW} is missing: run \`make setup\``);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    ready = await startServer();
    profile = mkdtempSync(join(tmpdir(), "auroraview-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: 30_000,
    });
    context.setDefaultTimeout(10_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => consoleLog.push({ type: m.type(), text: m.text(), url: m.location().url }));
    page.on("pageerror", (e) => consoleLog.push({ type: "pageerror", text: String(e) }));
    if (OTHER_CLIENT) {
      const body = readFileSync(OTHER_CLIENT, "utf8");
      await page.route("**/__auroraview/client.js", (route) =>
        route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body }),
      );
    }
  });

  after(async () => {
    const problems = [];
    try {
      if (context) await within(context.close(), 10_000, "closing Chromium");
    } catch (e) {
      problems.push(e);
    }
    if (profile) {
      killAll(pidsWith(profile));
      rmSync(profile, { recursive: true, force: true });
    }
    try {
      await stopServer();
    } catch (e) {
      problems.push(e);
    }
    if (problems.length) throw new AggregateError(problems, problems.map(String).join("; "));
  });

  it("leaves the calls pending and the listeners untouched; then the real replies and events arrive", async () => {
    const before = await stats();
    const res = await page.goto(ready.url);
    assert.equal(res.status(), 200);
    await page.waitForFunction(() => window.__forgery?.done === true, null, { timeout: 30_000 });
    const r = await page.evaluate(() => window.__forgery);
    const afterward = await stats();
    const report = JSON.stringify(r, null, 1);
    assert.equal(r.error, null, report);

    // The client's socket stayed out of the page's reach: no WebSocket.prototype hook saw it
    // (with it, a page sends frames with the pending calls' ids that the server answers with
    // an error, settling them: the clients before this test). Were it reached again, the
    // attempts on it below run, and the checks after them tell what they achieved.
    assert.equal(r.socketsSeen, 0, `a hook saw the client's socket:\n${report}`);

    // Before the release: nothing settled, only the real events reached listeners.
    assert.deepEqual(r.before.settled, {}, `a forged frame settled a pending call:\n${report}`);
    assert.deepEqual(r.before.got, [{ n: 1 }, { n: 2 }], `a listener saw a fake event:\n${report}`);
    assert.deepEqual(r.before.fakeSeen, [], report);
    assert.equal(r.before.stats.pending, 3, report);
    assert.equal(r.before.state, "open", report);
    for (const label of ["trigger call_result", "trigger event", "trigger detached"]) {
      assert.match(r.attempts[label], /^Error: .*send_event/, `${label}: ${report}`);
    }
    for (const label of ["assign trigger", "redefine auroraview"]) assert.match(r.attempts[label], /^TypeError/, label);
    // The page's own socket got trusted frames shaped as replies (its echoes came back).
    assert.deepEqual(r.ownSocket, { opened: true, trusted: 3, handlers: r.ownSocket.handlers }, report);
    assert.equal(r.replacedBuiltinsCall, "fulfilled", "a real reply with JSON.parse and the data getter replaced");
    assert.deepEqual(r.echoed, { real: [1, 2] }, "the real reply through a polluted Object.prototype");
    assert.equal(r.grabbed, 0, "replaced builtins saw a resolver, listener, timer or handler");

    // After the release: the real results, and a real event.
    assert.deepEqual(r.settled, {
      plain: { ok: true, v: { real: "plain" } },
      timed: { ok: true, v: { real: "timed" } },
      patched: { ok: true, v: { real: "patched" } },
    }, report);
    assert.deepEqual(r.got, [{ n: 1 }, { n: 2 }, { n: 3 }, ["second", { n: 3 }]], report);
    assert.deepEqual(r.fakeSeen, []);
    assert.equal(r.stats.pending, 0);

    // The server: each `slow` ran once, on the page's one connection (no reconnection); the
    // echoes were the own socket's 3 and the page's 1.
    assert.deepEqual((await cliCall("started", {})).sort(), ["patched", "plain", "timed"]);
    assert.equal(calls(afterward, "slow") - calls(before, "slow"), 3);
    assert.equal(calls(afterward, "echo") - calls(before, "echo"), 4);
  });

  it("logged no page error and no failed request but the favicon", () => {
    const bad = consoleLog.filter(
      (m) => (m.type === "error" || m.type === "pageerror" || /Content Security Policy/i.test(m.text)) &&
        !/favicon\.ico$/.test(m.url ?? ""),
    );
    assert.deepEqual(bad, []);
  });
});
