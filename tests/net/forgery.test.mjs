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
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";

import { Served } from "./harness.mjs";

const OTHER_CLIENT = process.env.AURORAVIEW_NET_CLIENT;

let served;

const calls = (s, name) => s.commands.find((c) => c.name === name)?.calls ?? 0;

describe("page scripts cannot forge the server's replies or events (headless Chromium)", { timeout: 50_000 }, () => {
  before(async () => {
    served = await Served.start(["tests/net/forgery_app.py:commands", "--assets", "tests/net/forgery_page"]);
    if (OTHER_CLIENT) {
      const body = readFileSync(OTHER_CLIENT, "utf8");
      await served.page.route("**/__auroraview/client.js", (route) =>
        route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body }),
      );
    }
  });

  after(async () => {
    if (served) await served.close();
  });

  it("leaves the calls pending and the listeners untouched; then the real replies and events arrive", async () => {
    const { page, ready } = served;
    const before = await served.stats();
    const res = await page.goto(ready.url);
    assert.equal(res.status(), 200);
    await page.waitForFunction(() => window.__forgery?.done === true, null, { timeout: 30_000 });
    const r = await page.evaluate(() => window.__forgery);
    const afterward = await served.stats();
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
    assert.deepEqual((await served.cliCall("started", {})).sort(), ["patched", "plain", "timed"]);
    assert.equal(calls(afterward, "slow") - calls(before, "slow"), 3);
    assert.equal(calls(afterward, "echo") - calls(before, "echo"), 4);
  });

  it("logged no page error and no failed request but the favicon", () => {
    assert.deepEqual(served.pageProblems(), []);
  });
});
