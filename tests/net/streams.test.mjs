// Streams and channels (docs/streams.md) over the network, from a real browser tab: a page
// served by `auroraview serve tests/net/app.py:commands` (tests/net/streams_page) iterates
// streams with `for await` over its WebSocket client (/__auroraview/client.js) in headless
// Chromium: 10,000 items in order, `break` and an AbortSignal close the server's generator
// (its `finally` counted by api.finally_count), an error after items, a channel's items before
// its result, and a reload that ends the page's stream. tests/e2e/test_streams_window.py is
// the same from a native window's page; sdk-ts/test/net/real-server.test.ts from Node.
//
// Needs what outliner.test.mjs needs (the venv with the extension built, the system Chromium).
//     cd tests/net && npm ci && npm test

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { Served } from "./harness.mjs";

let served;
let page;

/** Run scenario `name` of streams_page/streams.js in the page: what it resolved to. */
const run = (name, arg) => page.evaluate(([name, arg]) => window.__streams.scenarios[name](arg), [name, arg]);
const pageCall = (method, params) => page.evaluate(([m, p]) => window.auroraview.call(m, p), [method, params]);
const calls = (s, name) => s.commands.find((c) => c.name === name)?.calls ?? 0;

async function loaded() {
  await page.waitForFunction(() => window.__streams?.ready === true, null, { timeout: 10_000 });
}

/** Until api.forever's finally has run `n` times (asked from the page): how long it took. */
async function finallyRan(n, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const seen = await pageCall("api.finally_count");
    if (seen >= n) {
      assert.equal(seen, n, "closed once");
      return Date.now() - t0;
    }
    if (Date.now() - t0 > ms) throw new Error(`api.forever's finally ran ${seen} times, not ${n}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("streams and channels from a browser tab (headless Chromium, `auroraview serve`)", { timeout: 50_000 }, () => {
  before(async () => {
    served = await Served.start(["tests/net/app.py:commands", "--assets", "tests/net/streams_page"]);
    page = served.page;
    const res = await page.goto(served.ready.url);
    assert.equal(res.status(), 200);
    await loaded();
  });

  after(async () => {
    if (served) await served.close();
  });

  it("iterates 10,000 items of api.count with for await, in order, none lost or duplicated", async (t) => {
    const before = await served.stats();
    const t0 = Date.now();
    const r = await run("order", 10_000);
    const took = Date.now() - t0;
    assert.deepEqual(r, { count: 10_000, bad: null, stats: { pending: 0, unmatched: 0, refused: 0, duplicates: 0 } });
    const s = await served.stats();
    assert.equal(s.router.items_sent - before.router.items_sent, 10_000);
    assert.equal(s.router.in_flight, 0);
    assert.equal(calls(s, "api.count") - calls(before, "api.count"), 1);
    // The tab is the only connection: what it sent beyond the call are its acks (and maybe a
    // pong). Chromium delivers each frame in a task of its own, so a loop that keeps up waits
    // empty-handed after every item and acks each one (docs/streams.md): about one ack per
    // item here, where Node's `ws` delivers a read's frames together (an ack per ~32 items).
    const acks = s.server.frames_in - before.server.frames_in - 1;
    const late = s.router.unknown_acks - before.router.unknown_acks;
    t.diagnostic(`10,000 items in ${took} ms; the tab sent ~${acks} acks (${late} after the stream had ended), the server ${s.server.frames_out - before.server.frames_out} frames`);
    assert.ok(acks > 0 && acks <= 10_000 + 5, `${acks} acks: at most one per item`);
    assert.ok(late < acks, `${late} of ${acks} acks after the end`);
  });

  it("break: the loop ends, the server's generator is closed (its finally ran), nothing in flight", async (t) => {
    const closed = await pageCall("api.finally_count");
    const before = await served.stats();
    const r = await run("broken", 10);
    assert.deepEqual(r.got, Array.from({ length: 11 }, (_, i) => i));
    assert.equal(r.stats.pending, 0);
    const ms = await finallyRan(closed + 1);
    t.diagnostic(`api.forever's finally seen ${ms} ms after the break`);
    const s = await served.stats();
    assert.equal(s.router.in_flight, 0);
    assert.equal(s.router.cancelled - before.router.cancelled, 1, "cancelled once");
    assert.deepEqual(await page.evaluate(() => window.auroraview.stats()), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
  });

  it("an AbortSignal: the loop throws InvokeError cancelled, the server's generator is closed", async () => {
    const closed = await pageCall("api.finally_count");
    const r = await run("aborted", 5);
    assert.deepEqual(r, { got: [0, 1, 2, 3, 4, 5], thrown: { name: "AbortError", code: "cancelled", isInvokeError: true } });
    await finallyRan(closed + 1);
    assert.equal((await served.stats()).router.in_flight, 0);
  });

  it("an error after items: the items, then the structured error (name, code, message, data)", async () => {
    assert.deepEqual(await run("failing", 3), {
      got: [0, 1, 2],
      thrown: { name: "NotFound", code: "not_found", message: "no item 3 here", data: { after: 3 } },
    });
  });

  it("a channel: its items reach onItem in order, before the result (also beyond the window)", async () => {
    assert.deepEqual(await run("channel", 3), [1, 2, 3, "/tmp/page"]);
    const big = await run("channel", 5000);
    assert.equal(big.length, 5001);
    assert.ok(big.slice(0, 5000).every((d, i) => d === i + 1), "in order, before the result");
    assert.equal(big[5000], "/tmp/page");
  });

  it("a reload mid-stream ends the page's stream on the server (its generator closed)", async () => {
    const closed = await pageCall("api.finally_count");
    const held = await run("held", 100);
    assert.equal(held.pending, 1, "the stream is in flight");
    assert.equal((await served.stats()).router.in_flight, 1);
    await page.reload();
    await loaded();
    await finallyRan(closed + 1);
    const s = await served.stats();
    assert.equal(s.router.in_flight, 0);
    assert.equal(s.server.connections_open, 1, "the reloaded page's socket only");
  });

  it("logged no page error, no CSP violation and no failed request but the favicon", () => {
    assert.deepEqual(served.pageProblems(), []);
  });
});
