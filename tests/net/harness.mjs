// What the headless-Chromium suites share: `auroraview serve` on a free loopback port and one
// headless Chromium (the system's, with a fresh profile) showing its pages; every process
// started here ends with `close()`, and at the latest when this process exits.

import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const AURORAVIEW = join(ROOT, ".venv/bin/auroraview");
export const CHROMIUM = process.env.AURORAVIEW_CHROMIUM ?? "/usr/bin/chromium";
// No network here: nothing may phone home (playwright adds --headless and its own defaults).
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const run = promisify(execFile);

/** Rejects after `ms` (a hung close must not hang the suite). */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Pids of the processes whose command line holds `needle` (a unique profile folder). */
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

const live = new Set();
function stopEverythingNow() {
  // Synchronous last resort (process exit, Ctrl-C): nothing of ours outlives the test.
  for (const session of live) session.killNow();
}
process.once("exit", stopEverythingNow);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    stopEverythingNow();
    process.exit(130);
  });
}

/** `auroraview serve TARGET ARGS --port 0 --json --metrics` (per-command counts in /stats)
 * and a headless Chromium with one page, its console and page errors kept in `consoleLog`. */
export class Served {
  server;
  serverLog = "";
  ready; // the server's JSON line: { url, ws_url, host, port, token }
  profile; // Chromium's fresh --user-data-dir
  context; // the persistent browser context (one Chromium)
  page;
  consoleLog = [];

  static async start(serveArgs, { viewport } = {}) {
    assert.ok(existsSync(AURORAVIEW), `${AURORAVIEW} is missing: run \`make setup\``);
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
    const s = new Served();
    live.add(s);
    s.ready = await s.#startServer(serveArgs);
    s.profile = mkdtempSync(join(tmpdir(), "auroraview-chromium-"));
    s.context = await chromium.launchPersistentContext(s.profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      ...(viewport ? { viewport } : {}),
      timeout: 30_000,
    });
    s.context.setDefaultTimeout(10_000);
    s.page = s.context.pages()[0] ?? (await s.context.newPage());
    s.page.on("console", (m) => s.consoleLog.push({ type: m.type(), text: m.text(), url: m.location().url }));
    s.page.on("pageerror", (e) => s.consoleLog.push({ type: "pageerror", text: String(e) }));
    return s;
  }

  #startServer(serveArgs) {
    this.server = spawn(AURORAVIEW, ["serve", ...serveArgs, "--port", "0", "--json", "--metrics"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.server.stderr.setEncoding("utf8").on("data", (d) => (this.serverLog += d));
    return within(
      new Promise((resolve, reject) => {
        createInterface({ input: this.server.stdout }).once("line", (line) => resolve(JSON.parse(line)));
        this.server.once("error", reject);
        this.server.once("exit", (code) =>
          reject(new Error(`auroraview serve exited (${code}) before it was ready:\n${this.serverLog}`)),
        );
      }),
      20_000,
      "auroraview serve --json",
    );
  }

  base() {
    return `http://127.0.0.1:${this.ready.port}`;
  }

  async stats() {
    const res = await fetch(`${this.base()}/__auroraview/stats`, {
      headers: { Authorization: `Bearer ${this.ready.token}` },
    });
    assert.equal(res.status, 200);
    return res.json();
  }

  /** `auroraview call URL METHOD PARAMS` from another process. */
  async cliCall(method, params) {
    const { stdout } = await run(AURORAVIEW, ["call", this.ready.url, method, JSON.stringify(params), "--compact"], {
      cwd: ROOT,
      timeout: 15_000,
    });
    return JSON.parse(stdout);
  }

  /** Console errors, page errors and CSP reports, but the favicon's 404. */
  pageProblems() {
    return this.consoleLog.filter(
      (m) =>
        (m.type === "error" || m.type === "pageerror" || /Content Security Policy/i.test(m.text)) &&
        !/favicon\.ico$/.test(m.url ?? ""),
    );
  }

  /** Close Chromium, then stop the server (SIGTERM, which must end it within 5 s). */
  async close() {
    const problems = [];
    try {
      if (this.context) await within(this.context.close(), 10_000, "closing Chromium");
    } catch (e) {
      problems.push(e);
    }
    if (this.profile) {
      killAll(pidsWith(this.profile)); // whatever of that Chromium did not go with close()
      rmSync(this.profile, { recursive: true, force: true });
      this.profile = undefined;
    }
    try {
      await this.#stopServer();
    } catch (e) {
      problems.push(e);
    }
    live.delete(this);
    if (problems.length) throw new AggregateError(problems, problems.map(String).join("; "));
  }

  async #stopServer() {
    const server = this.server;
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

  killNow() {
    const server = this.server;
    if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
    if (this.profile) {
      killAll(pidsWith(this.profile));
      rmSync(this.profile, { recursive: true, force: true, maxRetries: 3 });
    }
  }
}
