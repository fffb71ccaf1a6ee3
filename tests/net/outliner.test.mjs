// The outliner example (examples/outliner) served by `auroraview serve`, driven in a real
// headless Chromium: the page written for the native window works unchanged in a browser tab
// (calls, pydantic's validation errors, declared errors, events pushed from Python), the
// server refuses a browser without the token (401) and a page of another origin (403 at the
// upgrade, counted, no handler run).
//
// Needs the system Chromium (`apt-get install chromium`; never a browser download), the
// venv with the extension built and the outliner's compiled page (`make setup`).
// AURORAVIEW_CHROMIUM overrides the browser's path. The screenshot goes to /tmp.
//     cd tests/net && npm ci && npm test

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { ROOT, Served } from "./harness.mjs";

const PAGE_JS = join(ROOT, "examples/outliner/ui/dist/examples/outliner/ui/src/app.js");
const SCREENSHOT = "/tmp/outliner-chromium.png";

// ── what this file starts (the harness ends each of them) ───────────────────────────────
let served; // `auroraview serve` of the outliner and a headless Chromium (tests/net/harness.mjs)
let ready; // the server's JSON line: { url, ws_url, host, port, token }
let context; // the persistent browser context (one Chromium)
let page;
let otherOrigin; // a second HTTP server, on another port: another origin

// ── helpers on the page and the server ──────────────────────────────────────────────────
const base = () => served.base();
const stats = () => served.stats();

/** What shows that no handler ran: every routed message and every command's calls. */
function handlerCounts(s) {
  return {
    connections_total: s.server.connections_total,
    received: s.router.received,
    calls_accepted: s.router.calls_accepted,
    events_received: s.router.events_received,
    calls: Object.fromEntries(s.commands.map((c) => [c.name, c.calls])),
  };
}

const cliCall = (method, params) => served.cliCall(method, params);

/** The tree as the page shows it: names in document order, and name → id. */
async function tree() {
  return page.evaluate(() => {
    const rows = [...document.querySelectorAll("#tree .row")];
    return {
      names: rows.map((r) => r.lastElementChild.textContent),
      ids: Object.fromEntries(rows.map((r) => [r.lastElementChild.textContent, Number(r.dataset.id)])),
      selected: rows.filter((r) => r.classList.contains("selected")).map((r) => r.lastElementChild.textContent),
    };
  });
}

const row = (name) => page.locator("#tree .row").filter({ has: page.getByText(name, { exact: true }) });

async function rename(from, to) {
  await row(from).click();
  await page.locator("#name").fill(to);
  await page.locator("#do-rename").click();
}

/** A page of another origin tries the server's socket; resolves how it ended. */
async function foreignSocketAttempt(target, nodeId) {
  return target.evaluate(
    ([url, nodeId]) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        const timer = setTimeout(() => resolve("no answer"), 5000);
        ws.onopen = () => {
          // Were it let in (on the cookie, which a same-site page sends), this would run.
          ws.send(JSON.stringify({ type: "call", id: 1, method: "delete", params: { node_id: nodeId } }));
          clearTimeout(timer);
          resolve("open");
        };
        ws.onclose = (e) => {
          clearTimeout(timer);
          resolve(`closed ${e.code}`);
        };
      }),
    [ready.ws_url, nodeId],
  );
}

// The whole file: well under a minute (it takes about 6 s); `after` runs even on a timeout.
describe("the outliner example in headless Chromium, served by `auroraview serve`", { timeout: 50_000 }, () => {
  before(async () => {
    assert.ok(existsSync(PAGE_JS), `${PAGE_JS} is missing: run \`make setup\` (tsc -p examples/outliner)`);
    served = await Served.start(["examples/outliner/app.py:commands", "--assets", "examples/outliner/ui"], {
      viewport: { width: 1000, height: 700 },
    });
    ({ ready, context, page } = served);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{22,}$/);
  });

  after(async () => {
    if (otherOrigin) {
      otherOrigin.closeAllConnections();
      await new Promise((r) => otherOrigin.close(r));
    }
    if (served) await served.close();
  });

  it("refuses the page without the token (401), in the browser and to a plain request", async () => {
    const res = await page.goto(`${base()}/`);
    assert.equal(res.status(), 401);
    assert.match(await page.textContent("body"), /needs its token/);
    assert.equal((await page.goto(`${base()}/?token=${"x".repeat(43)}`)).status(), 401, "a wrong token");
    assert.equal((await fetch(`${base()}/`)).status, 401);
    assert.equal((await fetch(`${base()}/__auroraview/stats`)).status, 401, "stats without the bearer token");
    assert.deepEqual(await context.cookies(), [], "no cookie for a refused request");
  });

  it("opens the printed URL: HttpOnly cookie, redirect to /, the client first in <head>, the scene rendered", async () => {
    served.consoleLog.length = 0; // the refusals above were logged as failed loads, rightly
    const res = await page.goto(ready.url);
    assert.equal(res.status(), 200);
    assert.equal(page.url(), `${base()}/`, "redirected without the token");
    assert.equal((await res.request().redirectedFrom()?.response())?.status(), 303);
    const [cookie] = await context.cookies(base());
    assert.equal(cookie?.name, `auroraview_token_${ready.port}`);
    assert.equal(cookie.value, ready.token);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(await page.evaluate(() => document.cookie), "", "the token never reaches page scripts");
    assert.equal(
      await page.evaluate(() => document.head.firstElementChild?.outerHTML),
      '<script src="/__auroraview/client.js"></script>',
    );

    await page.locator("#status").filter({ hasText: /^connected$/ }).waitFor();
    assert.equal(await page.textContent("#count"), "14 objects");
    const { names } = await tree();
    assert.deepEqual(names, [
      "world", "set", "floor", "table", "chair_01", "chair_02", "characters", "hero", "sidekick",
      "lighting", "key_light", "fill_light", "rim_light", "shot_cam",
    ]);
    assert.equal(await page.evaluate(() => typeof window.auroraview?.call), "function");
    const s = await stats();
    assert.equal(s.server.authenticated, 1, "the tab authenticated by its cookie");
    assert.equal(s.commands.find((c) => c.name === "get_scene").ok, 1);
  });

  it("shows pydantic's validation error for an invalid name, and the declared NameTaken", async () => {
    await rename("hero", "2bad");
    const error = page.locator("#error");
    await error.filter({ hasText: /\S/ }).waitFor();
    assert.match(await error.textContent(), /^ValidationError: new_name: String should match pattern '\^\[A-Za-z\]/);
    assert.equal(await page.locator("#name").getAttribute("class"), "invalid");
    assert.ok((await tree()).names.includes("hero"), "nothing renamed");

    await page.locator("#name").fill("sidekick");
    await page.locator("#do-rename").click();
    await error.filter({ hasText: /NameTaken/ }).waitFor();
    assert.equal(await error.textContent(), "NameTaken: 'sidekick' is already used (new_name)");
  });

  it("renames with a valid name: the tree updates", async () => {
    await page.locator("#name").fill("hero_main");
    await page.locator("#do-rename").click();
    await page.locator("#status").filter({ hasText: "renamed to hero_main" }).waitFor();
    assert.equal(await page.textContent("#error"), "");
    await row("hero_main").waitFor();
    const { names, selected } = await tree();
    assert.ok(!names.includes("hero"));
    assert.deepEqual(selected, ["hero_main"]);
  });

  it("receives events pushed from Python: another client's rename, and the host's selection", async () => {
    const { ids } = await tree();
    // Another process renames through the server: Python pushes `scene_changed` to the tab.
    const renamed = await cliCall("rename", { node_id: ids.sidekick, new_name: "sidekick_2" });
    assert.equal(renamed.name, "sidekick_2");
    await row("sidekick_2").waitFor();
    assert.equal(await page.textContent("#status"), "renamed to hero_main", "the page itself did nothing");

    // The host selects two lights: Python pushes `selection_changed` (source "host").
    const selection = await cliCall("host_select", { ids: [ids.key_light, ids.fill_light] });
    assert.deepEqual(selection, { ids: [ids.key_light, ids.fill_light], source: "host" });
    await page.locator("#status").filter({ hasText: "selection from the host" }).waitFor();
    assert.deepEqual((await tree()).selected, ["key_light", "fill_light"]);
    assert.equal(await page.inputValue("#name"), "key_light");

    // Left on screen for the screenshot: the host's selection and a validation error.
    await page.locator("#name").fill("key light");
    await page.locator("#do-rename").click();
    await page.locator("#error").filter({ hasText: /ValidationError/ }).waitFor();
    await page.screenshot({ path: SCREENSHOT });
  });

  it("refuses the socket to pages of other origins (403, counted), and runs no handler", async () => {
    otherOrigin = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      // A sandboxed frame has an opaque origin: its upgrade says `Origin: null`.
      res.end('<!doctype html><title>another origin</title><iframe sandbox="allow-scripts" srcdoc="<p>opaque"></iframe>');
    });
    await new Promise((r) => otherOrigin.listen(0, "127.0.0.1", r));
    const foreign = `http://127.0.0.1:${otherOrigin.address().port}/`;

    const characters = (await tree()).ids.characters;
    const before = await stats();
    const tab = await context.newPage();
    const tabLog = [];
    tab.on("console", (m) => tabLog.push(m.text()));
    try {
      // Same site as the server (127.0.0.1), so the browser does send the SameSite=Strict
      // cookie with this upgrade: only the Origin check stands in the way.
      await tab.goto(foreign);
      assert.equal(await foreignSocketAttempt(tab, characters), "closed 1006");
      const sandboxed = tab.frames().find((f) => f !== tab.mainFrame());
      assert.equal(await sandboxed.evaluate(() => origin), "null");
      assert.equal(await foreignSocketAttempt(sandboxed, characters), "closed 1006");
      const refusals = tabLog.filter((t) => /WebSocket connection to .* failed.*Unexpected response code: 403/.test(t));
      assert.equal(refusals.length, 2, tabLog.join("\n"));
      // A top-level data: page never even reaches the server: Chromium's Local Network
      // Access checks block a public (opaque) page from a loopback socket first.
      await tab.goto("data:text/html,<title>opaque origin</title>");
      assert.equal(await foreignSocketAttempt(tab, characters), "closed 1006");
    } finally {
      await tab.close();
    }
    const afterward = await stats();
    assert.equal(afterward.server.refused_origin, before.server.refused_origin + 2, "the two upgrades that came");
    assert.deepEqual(handlerCounts(afterward), handlerCounts(before), "no connection, no message, no handler");
    assert.ok((await tree()).names.includes("characters"), "nothing deleted");
  });

  it("logged no page error, no CSP violation and no failed request but the favicon", () => {
    assert.deepEqual(served.pageProblems(), []);
  });
});
