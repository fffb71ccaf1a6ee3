// The React hooks (@auroraview/sdk/react) rendered by react-dom into a happy-dom document,
// against the mock backend, with and without StrictMode (its mount-unmount-mount of every
// effect): what they show, and that calls, streams, listeners and subscriptions they start
// are cancelled or removed exactly once.
import { closeDom } from "./dom.js";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { act, createElement, StrictMode, type ReactNode } from "react";
import { createRoot, type Root } from "react-dom/client";
import {
  createAuroraView,
  createClient,
  commandWithOptionalParams,
  commandWithoutParams,
  commandWithParams,
  InvokeError,
  isInvokeError,
  mockAuroraView,
  pageEvent,
  streamWithParams,
  subscribeTopic,
  type AuroraView,
  type CallOptions,
  type MockAuroraView,
  type StreamOptions,
  type Transport,
  type TransportSink,
} from "../../src/index.js";
import {
  useCommand,
  useConnection,
  useEvent,
  useLastEvent,
  useLazyCommand,
  useStream,
  useTopic,
  type CommandState,
  type LazyCommandState,
  type StreamState,
  type TopicState,
} from "../../src/react/index.js";

after(closeDom);

// What generated bindings hold (the wrappers codegen emits are these calls).
interface Vec3 {
  x: number;
  y: number;
  z: number;
}
const commands = {
  add: commandWithParams<{ a: number; b: number }, number>("add"),
  find: commandWithOptionalParams<{ query?: string }, string[]>("find"),
  version: commandWithoutParams<string>("version"),
  rename: commandWithParams<{ id: number; name: string }, string>("rename"),
  slow: commandWithParams<{ q: string }, string>("slow"),
};
const streams = { count: streamWithParams<{ n: number }, number>("count") };
const events = { progress: pageEvent<Vec3>("progress") };
const topics = { status: subscribeTopic<number>("status") };

/** The mock, wrapped to record each call's signal and count the listeners alive. */
function watched(mock: MockAuroraView) {
  const signals: Array<{ method: string; params: unknown; signal: AbortSignal | undefined }> = [];
  let listeners = 0;
  const backend: AuroraView = {
    call: (method: string, params?: unknown, options?: CallOptions) => {
      signals.push({ method, params, signal: options?.signal });
      return mock.call(method, params, options);
    },
    stream: (method: string, params?: unknown, options?: StreamOptions) => {
      signals.push({ method, params, signal: options?.signal });
      return mock.stream(method, params, options);
    },
    send_event: (event, detail) => mock.send_event(event, detail),
    subscribe: (topic, handler, options) => mock.subscribe(topic, handler, options),
    publish: (topic, data, options) => mock.publish(topic, data, options),
    on: (event, handler) => {
      listeners += 1;
      const off = mock.on(event, handler);
      let on = true;
      return () => {
        if (on) listeners -= 1;
        on = false;
        off();
      };
    },
    once: (event, handler) => mock.once(event, handler),
    off: (event, handler) => mock.off(event, handler),
  };
  createAuroraView(backend);
  return { signals, listeners: () => listeners };
}

/** Render `node` (in StrictMode when `strict`); `seen` gets what the probe's hook returned last. */
async function mount(node: ReactNode, strict = false): Promise<Root> {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container);
  await act(async () => root.render(strict ? createElement(StrictMode, null, node) : node));
  return root;
}

/** Let the mock answer and React re-render. */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

interface Seen<T> {
  current: T | undefined;
  /** Every value rendered, in order. */
  history: T[];
}

function Probe<T>(props: { use: () => T; seen: Seen<T> }): ReactNode {
  const value = props.use();
  props.seen.current = value;
  props.seen.history.push(value);
  return createElement("pre", null, JSON.stringify(value));
}

/** A component rendering `use()` (a hook call) as text; `seen` has what it returned. */
function probe<T>(use: () => T): { element: ReactNode; seen: Seen<T> } {
  const seen: Seen<T> = { current: undefined, history: [] };
  return { element: createElement(Probe as (p: { use: () => T; seen: Seen<T> }) => ReactNode, { use, seen }), seen };
}

test("useCommand: loading, then the typed result, shown by a real render", async () => {
  const mock = mockAuroraView({ add: (p: { a: number; b: number }) => p.a + p.b });
  watched(mock);
  const { element, seen } = probe(() => useCommand(commands.add, { a: 2, b: 3 }));
  const root = await mount(element);
  assert.equal(seen.history[0].loading, true);
  assert.equal(seen.history[0].data, undefined);
  await settle();
  assert.equal(seen.current?.loading, false);
  const sum: number | undefined = seen.current?.data;
  assert.equal(sum, 5);
  assert.match(document.body.textContent ?? "", /"data":5/);
  await act(async () => root.unmount());
});

test("useCommand: an error lands in error; rerun runs again", async () => {
  let n = 0;
  const mock = mockAuroraView({
    version: () => {
      n += 1;
      if (n === 1) throw new InvokeError({ name: "NotReady", code: "not_ready", message: "later", data: null });
      return `v${n}`;
    },
  });
  watched(mock);
  const { element, seen } = probe(() => useCommand(commands.version));
  const root = await mount(element);
  await settle();
  assert.ok(isInvokeError(seen.current?.error) && seen.current.error.code === "not_ready");
  await act(async () => seen.current?.rerun());
  await settle();
  assert.equal(seen.current?.data, "v2");
  assert.equal(seen.current?.error, undefined);
  await act(async () => root.unmount());
});

test("useCommand: new params cancel the call on its way; inline params equal by value do not re-run", async () => {
  const mock = mockAuroraView({ slow: (p: { q: string }) => new Promise((resolve) => setTimeout(() => resolve(p.q), 30)) });
  const { signals } = watched(mock);
  let q = "a";
  function App(): ReactNode {
    const state = useCommand(commands.slow, { q });
    seen.current = state;
    return createElement("span", null, state.data ?? "…");
  }
  const seen: { current: CommandState<string> | undefined } = { current: undefined };
  const container = document.createElement("div");
  const root = createRoot(container);
  const rerender = (): void => root.render(createElement(App));
  await act(async () => rerender());
  await act(async () => rerender()); // same params, new object: no second call
  assert.equal(signals.length, 1);
  q = "b";
  await act(async () => rerender());
  assert.equal(signals.length, 2);
  assert.equal(signals[0].signal?.aborted, true, "the call for a was cancelled");
  assert.equal(signals[1].signal?.aborted, false);
  await act(async () => new Promise((resolve) => setTimeout(resolve, 60)));
  assert.equal(seen.current?.data, "b");
  assert.equal(container.textContent, "b");
  await act(async () => root.unmount());
});

test("useCommand: a backend that ignores the signal cannot put a superseded reply in the state", async () => {
  // Replies come in reverse order: "a" (superseded) after "b".
  const delays: Record<string, number> = { a: 40, b: 5 };
  const backend: AuroraView = {
    call: (_method, params) => new Promise((resolve) => setTimeout(() => resolve((params as { q: string }).q), delays[(params as { q: string }).q])),
    stream: () => {
      throw new Error("unused");
    },
    send_event: () => {},
    on: () => () => {},
    once: () => () => {},
    off: () => {},
  };
  createAuroraView(backend);
  let q = "a";
  const seen: { current: CommandState<string> | undefined } = { current: undefined };
  function App(): ReactNode {
    seen.current = useCommand(commands.slow, { q });
    return null;
  }
  const root = createRoot(document.createElement("div"));
  await act(async () => root.render(createElement(App)));
  q = "b";
  await act(async () => root.render(createElement(App)));
  await act(async () => new Promise((resolve) => setTimeout(resolve, 80)));
  assert.equal(seen.current?.data, "b");
  await act(async () => root.unmount());
});

test("useCommand in StrictMode: the first effect's call is cancelled, one result, unmount cancels the rest", async () => {
  let calls = 0;
  const mock = mockAuroraView({ slow: (p: { q: string }) => ((calls += 1), new Promise((resolve) => setTimeout(() => resolve(p.q), 20))) });
  const { signals } = watched(mock);
  const { element, seen } = probe(() => useCommand(commands.slow, { q: "x" }));
  const root = await mount(element, true);
  assert.equal(signals.length, 2, "StrictMode runs the effect twice");
  assert.equal(signals[0].signal?.aborted, true);
  assert.equal(signals[1].signal?.aborted, false);
  await act(async () => new Promise((resolve) => setTimeout(resolve, 40)));
  assert.equal(seen.current?.data, "x");
  assert.equal(seen.current?.error, undefined, "the cancelled first call is not reported");
  assert.equal(mock.stats().pending, 0);
  // Unmounting while a re-run is on its way cancels it.
  await act(async () => seen.current?.rerun());
  const last = signals[signals.length - 1];
  await act(async () => root.unmount());
  assert.equal(last.signal?.aborted, true);
  assert.equal(mock.stats().pending, 0);
  assert.ok(calls >= 2);
});

test("useCommand: cancel() ends the run with code cancelled", async () => {
  const mock = mockAuroraView({ slow: () => new Promise(() => {}) });
  watched(mock);
  const { element, seen } = probe(() => useCommand(commands.slow, { q: "x" }));
  const root = await mount(element);
  await act(async () => seen.current?.cancel());
  await settle();
  assert.ok(isInvokeError(seen.current?.error) && seen.current.error.code === "cancelled");
  assert.equal(seen.current?.loading, false);
  await act(async () => root.unmount());
});

test("useCommand with optional params: called with none and with some", async () => {
  const mock = mockAuroraView({ find: (p: { query?: string } | undefined) => [p?.query ?? "*"] });
  watched(mock);
  const none = probe(() => useCommand(commands.find));
  const some = probe(() => useCommand(commands.find, { query: "cube" }));
  const r1 = await mount(none.element);
  const r2 = await mount(some.element);
  await settle();
  assert.deepEqual(none.seen.current?.data, ["*"]);
  assert.deepEqual(some.seen.current?.data, ["cube"]);
  await act(async () => {
    r1.unmount();
    r2.unmount();
  });
});

test("useLazyCommand: runs on demand, its error in the state and in run()'s rejection, unmount cancels", async () => {
  let hang = false;
  const mock = mockAuroraView({
    rename: (p: { id: number; name: string }) => {
      if (hang) return new Promise(() => {});
      if (p.name === "taken") throw new InvokeError({ name: "NameTaken", code: "name_taken", message: "taken", data: null });
      return `${p.id}:${p.name}`;
    },
  });
  const { signals } = watched(mock);
  const { element, seen } = probe(() => useLazyCommand(commands.rename));
  const root = await mount(element, true);
  assert.equal(signals.length, 0, "nothing runs before run()");
  assert.equal(seen.current?.loading, false);
  let result: string | undefined;
  await act(async () => {
    result = await seen.current?.run({ id: 1, name: "cube" });
  });
  assert.equal(result, "1:cube");
  assert.equal(seen.current?.data, "1:cube");
  await act(async () => {
    await assert.rejects(seen.current!.run({ id: 1, name: "taken" }), (e: unknown) => isInvokeError(e) && e.code === "name_taken");
  });
  assert.ok(isInvokeError(seen.current?.error) && seen.current.error.code === "name_taken");
  assert.equal(seen.current?.data, "1:cube", "the last result stays");
  // A run nobody awaits: its failure is only in the state (no unhandled rejection).
  await act(async () => void seen.current?.run({ id: 2, name: "taken" }));
  await settle();
  hang = true;
  let pending: Promise<string> | undefined;
  await act(async () => {
    pending = seen.current?.run({ id: 3, name: "x" });
  });
  await act(async () => root.unmount());
  await assert.rejects(pending!, (e: unknown) => isInvokeError(e) && e.code === "cancelled");
  assert.equal(signals[signals.length - 1].signal?.aborted, true);
  assert.equal(mock.stats().pending, 0);
});

test("useEvent in StrictMode: one listener, each payload once, the latest handler, removed on unmount", async () => {
  const mock = mockAuroraView({});
  const { listeners } = watched(mock);
  const got: string[] = [];
  let tag = "first";
  function App(): ReactNode {
    const current = tag;
    useEvent(events.progress, (p) => got.push(`${current}:${p.x}`));
    return null;
  }
  const root = createRoot(document.createElement("div"));
  await act(async () => root.render(createElement(StrictMode, null, createElement(App))));
  assert.equal(listeners(), 1, "StrictMode's second mount leaves one listener");
  await act(async () => mock.emit(events.progress, { x: 1, y: 0, z: 0 }));
  tag = "second";
  await act(async () => root.render(createElement(StrictMode, null, createElement(App))));
  assert.equal(listeners(), 1, "a new handler does not subscribe again");
  await act(async () => mock.emit(events.progress, { x: 2, y: 0, z: 0 }));
  await act(async () => root.unmount());
  assert.equal(listeners(), 0);
  mock.emit(events.progress, { x: 3, y: 0, z: 0 });
  assert.deepEqual(got, ["first:1", "second:2"]);
});

test("useLastEvent: the last payload, typed", async () => {
  const mock = mockAuroraView({});
  const { listeners } = watched(mock);
  const { element, seen } = probe(() => useLastEvent(events.progress));
  const root = await mount(element, true);
  assert.equal(seen.current, undefined);
  await act(async () => mock.emit(events.progress, { x: 1, y: 2, z: 3 }));
  const last: Vec3 | undefined = seen.current;
  assert.deepEqual(last, { x: 1, y: 2, z: 3 });
  await act(async () => root.unmount());
  assert.equal(listeners(), 0);
});

test("useStream: items accumulate, done at the end; in StrictMode only one stream is read", async () => {
  const mock = mockAuroraView({
    count: async function* (p: { n: number }) {
      for (let i = 1; i <= p.n; i++) yield i;
    },
  });
  const { signals } = watched(mock);
  const { element, seen } = probe(() => useStream(streams.count, { n: 5 }));
  const root = await mount(element, true);
  await settle(10);
  const items: readonly number[] | undefined = seen.current?.items;
  assert.deepEqual(items, [1, 2, 3, 4, 5]);
  assert.equal(seen.current?.done, true);
  assert.equal(seen.current?.streaming, false);
  assert.equal(signals[0].signal?.aborted, true, "StrictMode's first stream was cancelled");
  await act(async () => seen.current?.restart());
  await settle(10);
  assert.deepEqual(seen.current?.items, [1, 2, 3, 4, 5], "restart starts over, not appends");
  await act(async () => root.unmount());
});

test("useStream: unmounting cancels the stream on the host (its generator's finally runs)", async () => {
  let closed = 0;
  let started = 0;
  const mock = mockAuroraView({
    count: async function* () {
      started += 1;
      try {
        for (let i = 1; ; i++) {
          yield i;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      } finally {
        closed += 1;
      }
    },
  });
  watched(mock);
  const { element, seen } = probe(() => useStream(streams.count, { n: 0 }));
  const root = await mount(element, true);
  await settle(5);
  assert.ok((seen.current?.items.length ?? 0) > 0);
  assert.equal(seen.current?.streaming, true);
  await act(async () => root.unmount());
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(closed, started, "every stream started was closed on the host");
  assert.equal(mock.stats().pending, 0);
});

test("useStream: an error after some items keeps the items", async () => {
  const mock = mockAuroraView({
    count: async function* () {
      yield 1;
      throw new InvokeError({ name: "Broken", code: "broken", message: "no more", data: null });
    },
  });
  watched(mock);
  const { element, seen } = probe(() => useStream(streams.count, { n: 2 }));
  const root = await mount(element);
  await settle(10);
  assert.deepEqual(seen.current?.items, [1]);
  assert.ok(isInvokeError(seen.current?.error) && seen.current.error.code === "broken");
  assert.equal(seen.current?.done, false);
  await act(async () => root.unmount());
});

test("useTopic in StrictMode: subscribed once on the wire, the last message and its offset, unsubscribed on unmount", async () => {
  const mock = mockAuroraView<Record<string, never>, { status: number }>({});
  watched(mock);
  const got: number[] = [];
  const { element, seen } = probe(() => useTopic(topics.status, { onMessage: (n) => got.push(n) }));
  const root = await mount(element, true);
  await settle();
  assert.equal(mock.subscribed("status"), true);
  assert.deepEqual({ ...seen.current?.subscribed }, { epoch: "mock", offset: 0 });
  await act(async () => {
    mock.publishAsHost("status", 7);
    mock.publishAsHost("status", 8);
  });
  const last: number | undefined = seen.current?.last;
  assert.equal(last, 8);
  assert.equal(seen.current?.publication?.offset, 2);
  assert.deepEqual(got, [7, 8], "each message once, though StrictMode subscribed twice");
  await act(async () => root.unmount());
  await settle();
  assert.equal(mock.subscribed("status"), false);
});

test("useTopic: a refused subscription is in error", async () => {
  const mock = mockAuroraView({
    "auroraview.subscribe": () => {
      throw new InvokeError({ name: "Forbidden", code: "forbidden", message: "no", data: null });
    },
  });
  watched(mock);
  const { element, seen } = probe(() => useTopic(topics.status));
  const root = await mount(element);
  await settle();
  assert.ok(isInvokeError(seen.current?.error) && seen.current.error.code === "forbidden");
  await act(async () => root.unmount());
});

test("useConnection: open against the mock; connecting, then open over a transport", async () => {
  createAuroraView(mockAuroraView({}));
  const open = probe(() => useConnection());
  const r1 = await mount(open.element, true);
  assert.deepEqual(open.seen.current, { state: "open", ready: true });
  await act(async () => r1.unmount());

  let sink: TransportSink | undefined;
  const transport: Transport = {
    state: "connecting",
    attach: (s) => (sink = s),
    send: () => {},
  };
  const client = createClient(transport);
  const { element, seen } = probe(() => useConnection(client));
  const root = await mount(element);
  assert.deepEqual(seen.current, { state: "connecting", ready: false });
  await act(async () => {
    (transport as { state: string }).state = "open";
    sink!.setState("open");
  });
  await settle();
  assert.deepEqual(seen.current, { state: "open", ready: true });
  await act(async () => root.unmount());
});

test("useConnection follows a network client's connection events", async () => {
  const listeners = new Map<string, Set<() => void>>();
  let state: "connecting" | "open" | "closed" = "open";
  const connection = {
    get state() {
      return state;
    },
    on(event: string, listener: () => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
  };
  const backend = { ...mockAuroraView({}), connection } as unknown as AuroraView;
  const { element, seen } = probe(() => useConnection(backend));
  const root = await mount(element, true);
  assert.equal(seen.current?.state, "open");
  await act(async () => {
    state = "connecting";
    for (const l of listeners.get("disconnected") ?? []) l();
  });
  assert.deepEqual(seen.current, { state: "connecting", ready: false });
  await act(async () => {
    state = "open";
    for (const l of listeners.get("connected") ?? []) l();
  });
  assert.deepEqual(seen.current, { state: "open", ready: true });
  await act(async () => root.unmount());
  assert.equal([...listeners.values()].reduce((n, s) => n + s.size, 0), 0, "its listeners are removed");
});

// Types: the hooks take the generated wrappers, so params, results, items and payloads are
// checked (compiled by `npm test`; never run).
export function typeChecks(): void {
  const a: CommandState<number> = useCommand(commands.add, { a: 1, b: 2 });
  // @ts-expect-error add's params are required
  useCommand(commands.add);
  // @ts-expect-error b is a number
  useCommand(commands.add, { a: 1, b: "2" });
  const v: CommandState<string> = useCommand(commands.version);
  // @ts-expect-error version takes no params
  useCommand(commands.version, {});
  useCommand(commands.find);
  useCommand(commands.find, { query: "x" });
  // @ts-expect-error query is a string
  useCommand(commands.find, { query: 1 });
  // @ts-expect-error a method name is not a command
  useCommand("add", { a: 1, b: 2 });
  const r: LazyCommandState<typeof commands.rename> = useLazyCommand(commands.rename);
  void r.run({ id: 1, name: "x" });
  // @ts-expect-error id is a number
  void r.run({ id: "1", name: "x" });
  const s: StreamState<number> = useStream(streams.count, { n: 1 });
  // @ts-expect-error a stream is not a command
  useCommand(streams.count, { n: 1 });
  useEvent(events.progress, (p) => p.x.toFixed());
  // @ts-expect-error progress carries a Vec3
  useEvent(events.progress, (p: string) => p);
  const t: TopicState<number> = useTopic(topics.status);
  // @ts-expect-error status carries numbers
  useTopic(topics.status, { onMessage: (m: string) => m });
  void a, v, s, t;
}
