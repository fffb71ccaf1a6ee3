// The generated network page script (src/net/client.gen.js) run in a node `vm` with a minimal
// fake window, over a real socket (the `ws` package as the page's WebSocket) to the fake server.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import WebSocket from "ws";
import { InvokeError } from "../src/index.js";
import { FakeServer, waitFor } from "./net/fake-server.js";

// This file runs from build/test/test/.
const SCRIPT = readFileSync(new URL("../../../../src/net/client.gen.js", import.meta.url), "utf8");

interface Page {
  __bridge: number;
  call(method: string, params?: unknown): Promise<unknown>;
  on(event: string, handler: (payload: unknown) => void): () => void;
  readonly state: string;
  readonly ready: Promise<void>;
  readonly InvokeError: typeof InvokeError;
  readonly connection: { state: string; url: string; close(): void; info: unknown };
  trigger(event: string, payload?: unknown): void;
}

class FakeCustomEvent {
  readonly detail: unknown;
  constructor(
    readonly type: string,
    init?: { detail?: unknown },
  ) {
    this.detail = init?.detail;
  }
}

function load(t: TestContext, port: number, { readyState = "loading", preinstalled = undefined as unknown } = {}) {
  const dispatched: FakeCustomEvent[] = [];
  const onDocument = new Map<string, () => void>();
  const sandbox: Record<string, unknown> = {
    console,
    setTimeout,
    clearTimeout,
    URL,
    WebSocket,
    TextDecoder,
    location: { href: `http://127.0.0.1:${port}/index.html` },
    CustomEvent: FakeCustomEvent,
    dispatchEvent: (event: FakeCustomEvent) => dispatched.push(event) > 0,
    addEventListener: (): void => {},
    document: { readyState, addEventListener: (type: string, fn: () => void) => onDocument.set(type, fn) },
  };
  if (preinstalled !== undefined) sandbox.auroraview = preinstalled;
  const context = vm.createContext(sandbox);
  vm.runInContext("var window = globalThis;", context);
  const run = (code: string): unknown => vm.runInContext(code, context);
  run(SCRIPT);
  const av = run("window.auroraview") as Page;
  t.after(() => av.connection?.close());
  const domReady = (): void => onDocument.get("DOMContentLoaded")!();
  return { run, av, dispatched, domReady };
}

test("window.auroraview over a same-origin socket, authenticated by the cookie (no hello)", async (t) => {
  const srv = await FakeServer.start({ authAtUpgrade: true });
  t.after(() => srv.stop());
  const { run, av, dispatched, domReady } = load(t, srv.port);
  assert.equal(av.__bridge, 1);
  assert.equal(av.connection.url, `ws://127.0.0.1:${srv.port}/__auroraview/ws`);
  const early = av.call("api.add", { a: 1, b: 2 }); // queued until the welcome
  await av.ready;
  assert.deepEqual(JSON.parse(JSON.stringify(await early)), { total: 3 });
  assert.equal(srv.peers[0].frames[0].type, "call", "no hello: the cookie authenticated the upgrade");
  assert.deepEqual(srv.peers[0].offered, ["auroraview.batch", "auroraview"], "no token subprotocol: the page has no token");
  assert.equal(srv.peers[0].protocol, "auroraview");
  assert.equal(srv.received("hello").length, 0);
  // auroraviewready waits for the page's scripts too (DOMContentLoaded), as in a window.
  assert.equal(dispatched.filter((e) => e.type === "auroraviewready").length, 0);
  domReady();
  await waitFor(() => dispatched.some((e) => e.type === "auroraviewready"), 1000, "auroraviewready");
  assert.equal(dispatched.find((e) => e.type === "auroraviewready")?.detail, av);

  await assert.rejects(av.call("api.fail", { what: "x" }), (e: unknown) => e instanceof InvokeError && e instanceof av.InvokeError && e.code === "not_found");
  run('window.addEventListener("update_data", () => {})'); // as a seed page does
  const got: unknown[] = [];
  av.on("update_data", (p) => got.push(p));
  srv.emit("update_data", { rows: [1] });
  await waitFor(() => got.length === 1, 1000, "the event");
  assert.deepEqual(
    dispatched.filter((e) => e.type === "update_data").map((e) => JSON.parse(JSON.stringify(e.detail))),
    [{ rows: [1] }],
  );

  // Only the server delivers replies and events (RELIABILITY.md case 28).
  let settled = false;
  const slow = av.call("api.sleep", { seconds: 0.2 }).then((v) => (settled = true) && v);
  for (const [event, payload] of [["__auroraview_call_result", { id: 3, ok: true, result: "forged" }], ["update_data", "forged"]] as const) {
    assert.throws(() => av.trigger(event, payload), (e: unknown) => /send_event/.test((e as Error).message));
  }
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(settled, false);
  assert.equal(got.length, 1);
  assert.equal(await slow, 0.2);

  const d = run('Object.getOwnPropertyDescriptor(window, "auroraview")') as PropertyDescriptor;
  assert.equal(d.writable, false);
  assert.equal(d.configurable, false);
  assert.ok(Object.isFrozen(av));
  run(SCRIPT); // loaded twice: nothing changes, no second socket
  assert.equal(run("window.auroraview"), av);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(srv.peers.length, 1);
});

test("a document already parsed fires auroraviewready at the welcome", async (t) => {
  const srv = await FakeServer.start({ authAtUpgrade: true });
  t.after(() => srv.stop());
  const { dispatched } = load(t, srv.port, { readyState: "complete" });
  await waitFor(() => dispatched.some((e) => e.type === "auroraviewready"), 1000, "auroraviewready");
});

test("inside an auroraview window (a bridge is there already) the script does nothing", async (t) => {
  const srv = await FakeServer.start({ authAtUpgrade: true });
  t.after(() => srv.stop());
  const bridge = Object.freeze({ __bridge: 1 });
  const { av } = load(t, srv.port, { preinstalled: bridge });
  assert.equal(av, bridge);
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(srv.peers.length, 0);
});

test("a page's binary call goes as one binary message and its bytes come back as Uint8Arrays", async (t) => {
  const srv = await FakeServer.start({ authAtUpgrade: true });
  t.after(() => srv.stop());
  const { run, av } = load(t, srv.port);
  await av.ready;
  const result = (await run("auroraview.call('api.bytes', { data: new Uint8Array([1, 2, 250]) })")) as { data: Uint8Array; reversed: Uint8Array; size: number };
  assert.equal(result.size, 3);
  assert.equal(Object.prototype.toString.call(result.reversed), "[object Uint8Array]");
  assert.deepEqual([...result.data], [1, 2, 250]);
  assert.deepEqual([...result.reversed], [250, 2, 1]);
  assert.deepEqual(srv.peers[0].frames[0], { type: "call", id: 1, method: "api.bytes", params: { data: { $bin: 0 } } });
  assert.deepEqual([...srv.peers[0].binary[0][0]], [1, 2, 250]);
});
