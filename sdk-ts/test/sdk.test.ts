// Unit tests of the SDK against its mock backend (node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  commandWithoutParams,
  commandWithOptionalParams,
  commandWithParams,
  createAuroraView,
  getAuroraView,
  hostEvent,
  InvokeError,
  isInvokeError,
  mockAuroraView,
  pageEvent,
} from "../src/index.js";

test("calls go to the active backend and errors keep their shape", async () => {
  const mock = mockAuroraView({
    add: (p) => (p as { a: number; b: number }).a + (p as { a: number; b: number }).b,
    fail: () => {
      throw new InvokeError({ name: "NameTaken", code: "name_taken", message: "taken", data: { field: "name" } });
    },
  });
  createAuroraView(mock);
  assert.equal(getAuroraView(), mock);
  assert.equal(await getAuroraView().call("add", { a: 2, b: 3 }), 5);
  await assert.rejects(getAuroraView().call("fail"), (e: unknown) => isInvokeError(e) && e.code === "name_taken" && (e.data as { field: string }).field === "name");
  await assert.rejects(getAuroraView().call("missing"), (e: unknown) => isInvokeError(e) && e.code === "method_not_found");
  assert.equal(isInvokeError(new Error("plain")), false);
});

test("events: on, once, off and send_event", () => {
  const mock = mockAuroraView({});
  const got: unknown[] = [];
  const off = mock.on("tick", (p) => got.push(p));
  mock.once("tick", (p) => got.push(["once", p]));
  mock.emit("tick", 1);
  mock.emit("tick", 2);
  off();
  mock.emit("tick", 3);
  assert.deepEqual(got, [1, ["once", 1], 2]);
  mock.send_event("export", { path: "/x" });
  assert.deepEqual(mock.sent, [{ event: "export", detail: { path: "/x" } }]);
});

test("the mock is the real client: thrown errors, timeouts and namespaces behave as in a window", async () => {
  const mock = mockAuroraView({
    boom: () => {
      throw new TypeError("bad");
    },
    "tools.x": (p) => ["x", p],
    hang: () => new Promise(() => {}),
    later: () => new Promise((resolve) => setTimeout(() => resolve("late"), 20)),
  });
  await assert.rejects(mock.call("boom"), (e: unknown) => e instanceof InvokeError && e.name === "TypeError" && e.code === "internal");
  assert.deepEqual(await (mock as unknown as Record<string, Record<string, (p: unknown) => Promise<unknown>>>).tools.x(1), ["x", 1]);
  await assert.rejects(mock.call("hang", undefined, { timeout: 5 }), (e: unknown) => isInvokeError(e) && e.code === "timeout");
  // A cancelled call gets no reply, as from a host that cancelled its handler.
  await assert.rejects(mock.call("later", undefined, { timeout: 1 }), (e: unknown) => isInvokeError(e) && e.code === "timeout");
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0 });
  assert.equal(mock.state, "open");
  await mock.ready;
});

test("generated-binding helpers call the backend active when they run", async () => {
  const add = commandWithParams<{ a: number; b: number }, number>("add");
  const page = commandWithOptionalParams<{ page?: number }, number[]>("page");
  const ping = commandWithoutParams<string>("ping");
  const tick = pageEvent<number>("tick");
  const exported = hostEvent<{ path: string }>("export");

  // Installed after the wrappers were made: they look the backend up per call.
  const mock = mockAuroraView({
    add: (p) => (p as { a: number; b: number }).a + (p as { a: number; b: number }).b,
    page: (p) => [(p as { page?: number } | undefined)?.page ?? 1],
    ping: (p) => `pong ${String(p)}`,
    slow: () => new Promise(() => {}),
  });
  createAuroraView(mock);
  assert.equal(await add({ a: 2, b: 3 }), 5);
  assert.deepEqual(await page(), [1]);
  assert.deepEqual(await page({ page: 4 }), [4]);
  assert.equal(await ping(), "pong undefined");
  const slow = commandWithoutParams<never>("slow");
  await assert.rejects(slow({ timeout: 5 }), (e: unknown) => isInvokeError(e) && e.code === "timeout");

  const got: number[] = [];
  const off = tick.on((n) => got.push(n));
  tick.once((n) => got.push(n * 10));
  mock.emit("tick", 1);
  mock.emit("tick", 2);
  off();
  mock.emit("tick", 3);
  assert.deepEqual(got, [1, 10, 2]);
  tick.on((n) => got.push(n));
  tick.off();
  mock.emit("tick", 4);
  assert.deepEqual(got, [1, 10, 2]);

  exported.send({ path: "/x" });
  assert.deepEqual(mock.sent, [{ event: "export", detail: { path: "/x" } }]);
  assert.ok(Object.isFrozen(tick) && Object.isFrozen(exported));
});

test("the mock plays the host: its trigger delivers events and the seeds' __auroraview_call_result", async () => {
  const mock = mockAuroraView({ hang: () => new Promise(() => {}) });
  const got: unknown[] = [];
  mock.on("tick", (p) => got.push(p));
  mock.trigger("tick", 1);
  assert.deepEqual(got, [1]);
  const p = mock.call("hang");
  mock.trigger("__auroraview_call_result", { id: 1, ok: true, result: "from the test" });
  assert.equal(await p, "from the test");
});
