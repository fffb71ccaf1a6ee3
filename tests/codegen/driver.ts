// End-to-end driver: calls every corpus command through the generated bindings in a real
// window and records whether each result round-tripped exactly. Written in TypeScript so
// the inputs and expected values are checked against the generated types too.
import { InvokeError, isInvokeError } from "@auroraview/sdk";
import { commands, type DeclaredError } from "./corpus.gen.js";

type Outcome = { ok: boolean; got?: unknown; want?: unknown; error?: string };
const results: Record<string, Outcome> = {};

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function expect<T>(name: string, call: Promise<T>, want: T): Promise<void> {
  try {
    const got = await call;
    results[name] = canonical(got) === canonical(want) ? { ok: true } : { ok: false, got, want };
  } catch (e) {
    results[name] = { ok: false, error: String((e as Error).message) };
  }
}

async function expectError(name: string, call: Promise<unknown>, check: (e: DeclaredError) => boolean): Promise<void> {
  try {
    await call;
    results[name] = { ok: false, error: "resolved instead of rejecting" };
  } catch (e) {
    const err = e as DeclaredError;
    results[name] = check(err) ? { ok: true } : { ok: false, got: { name: err.name, code: err.code, data: err.data } };
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A channel command's items (in order), then its result. */
async function withItems<T, R>(call: (send: (item: T) => void) => Promise<R>): Promise<[T[], R]> {
  const items: T[] = [];
  const result = await call((item) => items.push(item));
  return [items, result];
}

const uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

async function run(): Promise<void> {
  await expect("noParams", commands.noParams(), null);
  await expect("primitives", commands.primitives({ s: "a", i: 1, f: 1.5, b: true }), "a|1|1.5|True");
  await expect("optionalVsDefault", commands.optionalVsDefault({ required_opt: 2, both: "xy" }), 7);
  await expect("allOptional", commands.allOptional({ page: 2 }), [2, 20]);
  await expect("literals", commands.literals({ mode: "slow", level: 3 }), "failed");
  await expect("enums", commands.enums({ color: "red", priority: 2 }), "green");
  await expect("modelInOut", commands.modelInOut({ v: { x: 1, y: 2 } }), { x: 2, y: 4, z: 0 });
  await expect("frozenModel", commands.frozenModel({ f: { key: "k", version: 1 } }), { key: "k", version: 1 });
  await expect("recursive", commands.recursive({ root: { name: "a", children: [{ name: "b" }] } }), {
    name: "a",
    children: [{ name: "b", children: [] }],
  });
  await expect("discriminated", commands.discriminated({ pet: { kind: "cat", lives: 9 } }), { kind: "cat", lives: 9 });
  await expect("plainUnionNull", commands.plainUnion({ value: null }), "none");
  await expect("plainUnionInt", commands.plainUnion({ value: 5 }), 5);
  await expect("dicts", commands.dicts({ scores: { a: 1.5 }, nested: { a: [1, 2] } }), { a: { x: 1.5, y: 3, z: 0 } });
  await expect("tuples", commands.tuples({ pair: [1, "a"], many: [1, 2] }), ["a", 3, true]);
  await expect("collections", commands.collections({ items: [{ x: 1, y: 1 }], tags: ["b", "a", "a"], frozen: [1, 2] }), [
    ["a", "b"],
    ["1", "3"],
  ]);
  await expect("dataclassesInOut", commands.dataclassesInOut({ p: { x: 1, y: 2 }, fp: { x: 10, y: 20 } }), { x: 11, y: 22 });
  await expect("typedDict", commands.typedDict({ options: { recursive: true } }), { recursive: true });
  await expect(
    "times",
    commands.times({ at: "2026-01-01T10:00:00Z", day: "2026-03-02", clock: "12:30:00", span: "PT1H" }),
    "2026-03-02T13:30:00Z",
  );
  await expect("idsAndMoney", commands.idsAndMoney({ id: uuid, amount: "1.25" }), { id: uuid, double: "2.50", version: 4 });
  {
    // Raw both ways (docs/binary.md): the same bytes come back as a Uint8Array, not a string.
    const sent = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00]);
    try {
      const got = await commands.rawBytes({ data: sent });
      const same = got instanceof Uint8Array && got.length === sent.length && got.every((b, i) => b === sent[i]);
      results["rawBytes"] = same ? { ok: true } : { ok: false, got: String(got), want: String(sent) };
    } catch (e) {
      results["rawBytes"] = { ok: false, error: String((e as Error).message) };
    }
  }
  await expect("anything", commands.anything({ value: { a: [1, "x", null] } }), { a: [1, "x", null] });
  await expect("constrained", commands.constrained({ name: "abc", count: 4 }), 7);
  await expect("aliased", commands.aliased({ a: { userName: "ada" } }), { userName: "ada" });
  await expect("apiDottedName", commands.apiDottedName(), "dotted");
  await expect("syncHandler", commands.syncHandler({ x: 7 }), 49);
  await expectError(
    "declaredErrorsNameTaken",
    commands.declaredErrors({ node_id: 1, new_name: "taken" }),
    (e) => e.name === "NameTaken" && e.code === "name_taken" && e.data.reason === "used by 7",
  );
  // A real error from the window's bridge is an instance of the class the page imports from
  // @auroraview/sdk (one InvokeError, whichever bundle made it).
  await expectError(
    "instanceofInvokeError",
    commands.declaredErrors({ node_id: 0, new_name: "x" }),
    (e) => e instanceof InvokeError && e instanceof Error && isInvokeError(e),
  );
  await expectError("declaredErrorsNotFound", commands.declaredErrors({ node_id: 0, new_name: "x" }), (e) => e.code === "not_found");
  await expect("declaredErrorsOk", commands.declaredErrors({ node_id: 1, new_name: "x" }), true);
  await expect("keywordOnly", commands.keywordOnly({ a: 3, flag: true }), -3);
  await expect("nestedGenerics", commands.nestedGenerics({ data: { b: [{ x: 1, y: null }], a: [{ z: 2 }] } }), [
    ["a", [2]],
    ["b", [1]],
  ]);
  await expect("defaultsModel", commands.defaultsModel({ s: {} }), { enabled: true, threshold: 1, label: null });
  await expect("optionalModelNone", commands.optionalModel(), null);
  await expect("optionalModel", commands.optionalModel({ v: { x: 1, y: 1 } }), { x: 1, y: 1, z: 0 });
  await expect("rootModel", commands.rootModel({ w: [1, 2, 3] }), [3, 2, 1]);
  await expect("intKeys", commands.intKeys({ m: { "1": "a" } }), { "10": "a" });
  await expect("enumLists", commands.enumLists({ colors: ["red"], by_name: { red: 2 } }), [2]);
  await expect("positionalOnly", commands.positionalOnly([5, 3]), 2);
  await expect("nestedModels", commands.nestedModels({ shape: { layers: { a: [null, { x: 1, y: 1 }] } } }), 2);
  await expect("withTimeout", commands.withTimeout(), null);
  await expect("streamEvents", commands.streamEvents(), [
    { type: "stream.started", stream_id: "s" },
    { type: "stream.done", usage: { input_tokens: 1, output_tokens: 2 } },
  ]);
  await expect("replay", commands.replay({ event: { type: "stream.error", message: "m" } }), {
    type: "stream.error",
    message: "m",
    retryable: false,
  });
  await expect("speak", commands.speak({ request: { model: "my-own-model" } }), {
    model: "my-own-model",
    voice: "alloy",
    size: null,
    speed: 1,
  });
  await expect("chatMessage", commands.chatMessage({ m: { role: "user", text: "hi" } }), { role: "user", text: "hi" });
  await expect("invoiceLine", commands.invoiceLine({ m: { amount_cents: 5 } }), { amount_cents: 5, memo: "" });
  await expect("records", commands.records({ r: { id: 1 }, e: { value: 2 } }), [{ id: 1 }, { id: 2 }]);
  await expect("pageOfUsage", commands.pageOfUsage({ cursor: "c" }), { items: [{ input_tokens: 1, output_tokens: 1 }], next_cursor: "c" });
  await expect("aliases", commands.aliases({ tags: ["a"], data: { k: [1, "x", null] } }), { tags: ["a"], data: { k: [1, "x", null] } });
  await expect("watch", collect(commands.watch({ total: 3 })), [
    { done: 1, total: 3 },
    { done: 2, total: 3 },
    { done: 3, total: 3 },
  ]);
  await expect("countSync", collect(commands.countSync({ n: 4 })), [0, 1, 2, 3]);
  await expect("countSyncDefault", collect(commands.countSync()), [0, 1, 2]);
  await expect("exportWithProgress", withItems((progress) => commands.exportWithProgress({ path: "/p", progress })), [
    [
      { done: 1, total: 3 },
      { done: 2, total: 3 },
      { done: 3, total: 3 },
    ],
    "/p",
  ]);
  await expectError(
    "exportWithProgressNotFound",
    commands.exportWithProgress({ path: "", progress: () => undefined }),
    (e) => e.name === "NotFound",
  );
  await expect("rebuildWithLog", withItems((log) => commands.rebuildWithLog({ log })), [["a", "b"], 2]);
}

window.addEventListener("auroraviewready", () => {
  run().then(
    () => ((window as unknown as { __corpus: unknown }).__corpus = { done: true, results }),
    (e: unknown) => ((window as unknown as { __corpus: unknown }).__corpus = { done: true, error: String(e), results }),
  );
});
