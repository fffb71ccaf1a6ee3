// Unit tests of the SDK against its mock backend (node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  binaryCommandWithOptionalParams,
  binaryCommandWithoutParams,
  binaryCommandWithParams,
  decodeFrame,
  encodeFrame,
  extractBlobs,
  FRAME_HEADER_BYTES,
  hasBinary,
  insertBlobs,
  isBytes,
  type AuroraView,
  type CallOptions,
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

test("the mock takes generated events: emit(events.x, payload) by its name, sentOf(events.y) its payloads", () => {
  const selectionChanged = pageEvent<number[]>("selection_changed");
  const select = hostEvent<{ ids: number[] }>("select");
  assert.equal(selectionChanged.name, "selection_changed");
  assert.equal(select.name, "select");
  const mock = mockAuroraView({});
  createAuroraView(mock);
  const got: number[][] = [];
  selectionChanged.on((ids) => got.push(ids));
  mock.emit(selectionChanged, [1, 2]);
  mock.emit("selection_changed", [3]);
  assert.deepEqual(got, [[1, 2], [3]]);
  select.send({ ids: [4] });
  mock.send_event("other", 1);
  select.send({ ids: [5] });
  assert.deepEqual(mock.sentOf(select), [{ ids: [4] }, { ids: [5] }]);
});

test("mock.reset() empties what was recorded, forgets topics and calls in flight, and swaps the handlers", async () => {
  let release: (() => void) | undefined;
  const mock = mockAuroraView({
    answer: () => 1,
    hang: () => new Promise<void>((resolve) => (release = resolve)),
  });
  mock.send_event("e", 1);
  await mock.publish("t", "a");
  mock.publishAsHost("t", "b");
  const hanging = mock.call("hang", undefined, { timeout: 200 });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(mock.sent.length, 1);
  assert.equal(mock.published.length, 1);
  mock.reset({ answer: () => 2 });
  assert.deepEqual(mock.sent, []);
  assert.deepEqual(mock.published, []);
  assert.equal(mock.subscribed("t"), false);
  // The topic starts over: offsets from 1 again.
  assert.deepEqual(mock.publishAsHost("t", "c"), { epoch: "mock", offset: 1 });
  assert.equal(await mock.call("answer"), 2);
  await assert.rejects(mock.call("hang"), (e: unknown) => isInvokeError(e) && e.code === "method_not_found");
  // The call in flight before the reset is never answered (its handler finishing sends nothing).
  release?.();
  await assert.rejects(hanging, (e: unknown) => isInvokeError(e) && e.code === "timeout");
  // Without handlers, reset keeps the current ones.
  mock.reset();
  assert.equal(await mock.call("answer"), 2);
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
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
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

// ── Binary data (docs/binary.md): the frame, placeholders, the mock and the bindings.

/** `n` bytes of a pattern that uses every byte value. */
function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** The frame as the format defines it, built independently with Buffer (not encodeFrame). */
function reference(json: string, blobs: Uint8Array[]): Buffer {
  const text = Buffer.from(json, "utf8");
  const head = Buffer.alloc(FRAME_HEADER_BYTES + 4 * blobs.length);
  head.writeUInt32LE(text.length, 1);
  head.writeUInt32LE(blobs.length, 5);
  blobs.forEach((b, i) => head.writeUInt32LE(b.length, 9 + 4 * i));
  return Buffer.concat([head, text, ...blobs]);
}

test("frames: the documented layout, byte for byte (the host's own test vector)", () => {
  const frame = encodeFrame("{}", [new TextEncoder().encode("abc")]);
  assert.deepEqual(Buffer.from(frame), Buffer.from("\x00\x02\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00{}abc", "latin1"));
  assert.equal(frame.byteOffset, 0);
  assert.equal(frame.buffer.byteLength, frame.length, "one allocation of exactly the frame's size");
  const { json, blobs } = decodeFrame(frame);
  assert.equal(json, "{}");
  assert.deepEqual(blobs.map((b) => Buffer.from(b).toString()), ["abc"]);
});

test("frames round-trip 0 B, 1 B and 1 MiB attachments, and several at once, byte-exact", () => {
  const cases: Array<[string, Uint8Array[]]> = [
    ['{"type":"call","id":1,"method":"m","params":{"a":{"$bin":0}}}', [new Uint8Array(0)]],
    ['{"a":{"$bin":0}}', [new Uint8Array([0])]],
    ['{"a":{"$bin":0}}', [new Uint8Array([0xff])]],
    ['{"big":{"$bin":0}}', [pattern(1 << 20)]],
    ["[1]", [new Uint8Array([0]), pattern(257, 7), new Uint8Array(0), pattern(65_536, 3)]],
    ["{}", []],
    ['{"é":"€ 😀 \\u0000","k":"' + "x".repeat(1000) + '"}', [pattern(3)]],
  ];
  for (const [json, blobs] of cases) {
    const frame = encodeFrame(json, blobs);
    assert.deepEqual(Buffer.from(frame), reference(json, blobs), `layout of ${json.slice(0, 30)}`);
    for (const input of [frame, frame.buffer as ArrayBuffer]) {
      const decoded = decodeFrame(input);
      assert.equal(decoded.json, json);
      assert.equal(decoded.blobs.length, blobs.length);
      decoded.blobs.forEach((b, i) => {
        assert.ok(b instanceof Uint8Array);
        assert.ok(Buffer.from(b).equals(Buffer.from(blobs[i])), `attachment ${i} of ${blobs.length}`);
        assert.equal(b.buffer, frame.buffer, "an attachment is a view of the frame, not a copy");
      });
    }
  }
});

test("frames: the JSON is UTF-8 as TextEncoder writes it, lone surrogates included", () => {
  for (const text of ["", "ascii", "é", "€", "😀", "a\uD800b", "\uDC00", "x\uD83D", "\uD83D\uDE00\uD83D", "\u07FF\u0800\uFFFF"]) {
    const frame = encodeFrame(text, []);
    const expected = new TextEncoder().encode(text);
    assert.equal(frame.length, FRAME_HEADER_BYTES + expected.length, JSON.stringify(text));
    assert.ok(Buffer.from(frame.subarray(FRAME_HEADER_BYTES)).equals(Buffer.from(expected)), JSON.stringify(text));
  }
});

test("a frame at an offset inside a larger buffer decodes from its view", () => {
  const frame = encodeFrame('{"x":1}', [pattern(5)]);
  const big = new Uint8Array(frame.length + 20);
  big.set(frame, 7);
  const view = big.subarray(7, 7 + frame.length);
  const { json, blobs } = decodeFrame(view);
  assert.equal(json, '{"x":1}');
  assert.deepEqual([...blobs[0]], [...pattern(5)]);
  assert.equal(blobs[0].byteOffset, 7 + frame.length - 5);
});

test("malformed frames are refused, each rule with its own message", () => {
  const good = encodeFrame("{}", [new TextEncoder().encode("abc")]);
  const bytes = (...b: number[]) => new Uint8Array(b);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["empty", bytes(), /0 bytes, shorter than its 9-byte header/],
    ["short header", good.slice(0, 8), /8 bytes, shorter than its 9-byte header/],
    ["json text", new TextEncoder().encode('{"type":"call_result"}'), /first byte is 0x7b, not 0x00/],
    ["tag 0x01", (() => { const f = good.slice(); f[0] = 1; return f; })(), /first byte is 0x01/],
    ["one byte missing", good.slice(0, good.length - 1), /add up to 18 bytes but it is 17 bytes long/],
    ["one byte extra", new Uint8Array([...good, 0x78]), /add up to 18 bytes but it is 19 bytes long/],
    ["attachment table past the end", bytes(0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), /announces 4294967295 attachments but is 9 bytes long/],
    ["json length past the end", bytes(0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), /add up to 4294967304 bytes but it is 9 bytes long/],
    ["attachment length past the end", bytes(0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 1, 2), /add up to 18 bytes but it is 15 bytes long/],
    ["json not UTF-8", bytes(0, 2, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0x28), /not valid UTF-8/],
  ];
  for (const [what, frame, message] of cases) {
    assert.throws(() => decodeFrame(frame), (e: unknown) => e instanceof Error && message.test(e.message) && /malformed binary frame/.test(e.message), what);
  }
  assert.throws(() => decodeFrame("not bytes" as unknown as ArrayBuffer), TypeError);
  assert.ok(isBytes(good) && isBytes(good.buffer) && isBytes(new DataView(good.buffer)) && !isBytes("x") && !isBytes({ byteLength: 1 }) && !isBytes(null));
});

test("extractBlobs cuts every binary part out of nested values, in order, without touching the caller's", () => {
  const a = pattern(4);
  const b = pattern(2, 9);
  const buffer = pattern(3, 5).buffer as ArrayBuffer;
  const words = new Uint16Array([0x0102, 0x0304]);
  const shared = { untouched: [1, 2, { deep: true }] };
  const params = { name: "x", a, list: [1, b, { inner: [buffer] }], words, view: new DataView(buffer, 1, 2), shared, n: null, u: undefined };
  const snapshot = JSON.stringify({ ...params, a: [...a] });
  const { value, blobs } = extractBlobs(params);
  assert.deepEqual(JSON.parse(JSON.stringify(value)), {
    name: "x",
    a: { $bin: 0 },
    list: [1, { $bin: 1 }, { inner: [{ $bin: 2 }] }],
    words: { $bin: 3 },
    view: { $bin: 4 },
    shared: { untouched: [1, 2, { deep: true }] },
    n: null,
  });
  assert.equal(blobs[0], a, "a Uint8Array is taken as it is");
  assert.equal(blobs[1], b);
  assert.deepEqual([...blobs[2]], [...new Uint8Array(buffer)]);
  assert.equal(blobs[2].buffer, buffer, "an ArrayBuffer becomes a view, not a copy");
  assert.deepEqual([...blobs[3]], [...new Uint8Array(words.buffer)]);
  assert.deepEqual([...blobs[4]], [...new Uint8Array(buffer, 1, 2)]);
  assert.equal((value as { shared: unknown }).shared, shared, "a subtree without bytes is shared, not copied");
  assert.notEqual(value, params);
  assert.equal(JSON.stringify({ ...params, a: [...a] }), snapshot, "the caller's value is unchanged");
  assert.equal(params.a, a);
  assert.equal(params.list[1], b);

  // Nothing binary: the very same value, no blobs. A bare Uint8Array: one placeholder.
  const plain = { a: [1, { b: "c" }] };
  assert.deepEqual(extractBlobs(plain), { value: plain, blobs: [] });
  assert.deepEqual(extractBlobs(a), { value: { $bin: 0 }, blobs: [a] });
  assert.deepEqual(extractBlobs(7), { value: 7, blobs: [] });
  // Class instances are JSON.stringify's business, as on the text path.
  const date = new Date(0);
  assert.equal((extractBlobs({ date }).value as { date: Date }).date, date);
});

test("insertBlobs puts the attachments back into nested objects and arrays", () => {
  const x = pattern(3);
  const y = pattern(1 << 20, 1);
  const json = '{"a":{"$bin":0},"list":[{"$bin":1},{"m":[{"$bin":0}]}],"n":1,"keep":{"$bin":"x"},"also":{"$bin":0,"other":1},"frac":{"$bin":0.5}}';
  const value = insertBlobs(JSON.parse(json), [x, y]) as Record<string, unknown>;
  assert.equal(value.a, x);
  assert.equal((value.list as unknown[])[0], y);
  assert.equal(((value.list as unknown[])[1] as { m: unknown[] }).m[0], x);
  assert.equal(value.n, 1);
  assert.deepEqual(value.keep, { $bin: "x" }, "a $bin that is not an index is data");
  assert.deepEqual(value.also, { $bin: 0, other: 1 }, "an object with other keys is data");
  assert.deepEqual(value.frac, { $bin: 0.5 });
  assert.equal(insertBlobs({ $bin: 1 }, [x, y]), y, "a placeholder at the top");
  assert.equal(insertBlobs("text", []), "text");
  assert.equal(insertBlobs(null, []), null);
  // Round trip through the frame: what extractBlobs cut, decode + insert put back.
  const original = { png: pattern(100), rows: [{ id: 1, raw: pattern(0) }, { id: 2, raw: pattern(1) }] };
  const { value: cut, blobs } = extractBlobs(original);
  const decoded = decodeFrame(encodeFrame(JSON.stringify(cut), blobs));
  const back = insertBlobs(JSON.parse(decoded.json), decoded.blobs) as typeof original;
  assert.deepEqual([...back.png], [...original.png]);
  assert.deepEqual(back.rows.map((r) => [r.id, [...r.raw]]), [[1, []], [2, [...pattern(1)]]]);

  for (const bad of ['{"a":{"$bin":2}}', '{"a":[{"$bin":-1}]}', '{"$bin":5}']) {
    assert.throws(() => insertBlobs(JSON.parse(bad), [x, y]), (e: unknown) => e instanceof RangeError && /names no attachment/.test(e.message), bad);
  }
});

test("hasBinary finds bytes within the depth it is given, and nothing in ordinary values", () => {
  const bytes = new Uint8Array(1);
  assert.equal(hasBinary(bytes, 0), true);
  assert.equal(hasBinary({ a: bytes }, 1), true);
  assert.equal(hasBinary({ a: bytes }, 0), false);
  assert.equal(hasBinary({ a: [{ b: bytes }] }, 3), true);
  assert.equal(hasBinary({ a: [{ b: bytes }] }, 2), false);
  assert.equal(hasBinary([1, "x", new ArrayBuffer(1)], 1), true);
  assert.equal(hasBinary({ v: new DataView(new ArrayBuffer(1)) }, 1), true);
  assert.equal(hasBinary({ f: new Float32Array(1) }, 1), true);
  for (const ordinary of [undefined, null, 1, "s", true, [], {}, { a: [1, { b: "c" }] }, new Date(), new Map([[1, bytes]]), Object.create(null)]) {
    assert.equal(hasBinary(ordinary, 16), false, typeof ordinary);
  }
});

test("the mock takes and returns Uint8Array values unchanged, nested in models and lists", async () => {
  const seen: unknown[] = [];
  const png = pattern(64);
  const mock = mockAuroraView({
    checksum: (p: { data: Uint8Array }) => {
      seen.push(p.data);
      return p.data.reduce((a, b) => a + b, 0);
    },
    thumbnail: (p: { path: string }) => ({ name: p.path, png, sizes: [pattern(1), pattern(2)] }),
    echo: (p: unknown) => p,
  });
  const data = pattern(1000);
  assert.equal(await mock.call("checksum", { data }), data.reduce((a, b) => a + b, 0));
  assert.equal(seen[0], data, "the handler got the page's own Uint8Array");
  const thumb = (await mock.call("thumbnail", { path: "a.png" }, { binary: true })) as { name: string; png: Uint8Array; sizes: Uint8Array[] };
  assert.equal(thumb.name, "a.png");
  assert.equal(thumb.png, png, "the handler's own Uint8Array comes back");
  assert.ok(thumb.sizes[0] instanceof Uint8Array && thumb.sizes[1].length === 2);
  const nested = { items: [{ raw: pattern(3) }, { raw: new Uint8Array(0) }], n: 1 };
  const back = (await mock.call("echo", nested)) as typeof nested;
  assert.equal(back.items[0].raw, nested.items[0].raw);
  assert.equal(back.items[1].raw, nested.items[1].raw);
  assert.equal(back.n, 1);
  assert.deepEqual(Object.keys(nested.items[0]), ["raw"], "the page's value is not changed");
  assert.ok(nested.items[0].raw instanceof Uint8Array);
  assert.deepEqual(mock.stats(), { pending: 0, unmatched: 0, refused: 0, duplicates: 0 });
});

test("binary binding helpers pass binary: true (and the caller's options) to the active backend", async () => {
  const calls: Array<[string, unknown, CallOptions | undefined]> = [];
  const backend: AuroraView = {
    call: (method, params, options) => {
      calls.push([method, params, options]);
      return Promise.resolve(method);
    },
    stream: () => {
      throw new Error("unused");
    },
    send_event: () => {},
    on: () => () => {},
    once: () => () => {},
    off: () => {},
  };
  const checksum = binaryCommandWithParams<{ data: Uint8Array }, string>("checksum");
  const blob = binaryCommandWithOptionalParams<{ size?: number }, Uint8Array>("blob");
  const latest = binaryCommandWithoutParams<Uint8Array>("latest");
  createAuroraView(backend);
  const data = pattern(2);
  const signal = new AbortController().signal;
  assert.equal(await checksum({ data }), "checksum");
  assert.equal(await checksum({ data }, { timeout: 5, signal }), "checksum");
  assert.equal(await blob(), "blob");
  assert.equal(await latest({ timeout: 9 }), "latest");
  assert.deepEqual(calls, [
    ["checksum", { data }, { binary: true }],
    ["checksum", { data }, { timeout: 5, signal, binary: true }],
    ["blob", undefined, { binary: true }],
    ["latest", undefined, { timeout: 9, binary: true }],
  ]);
  // Against the mock (the real client): bytes through a binary binding, both ways.
  createAuroraView(mockAuroraView({ checksum: (p: { data: Uint8Array }) => p.data.length, latest: () => pattern(5) }));
  assert.equal(await checksum({ data: pattern(10) }), 10);
  const got = await latest();
  assert.ok(got instanceof Uint8Array && got.length === 5);
});
