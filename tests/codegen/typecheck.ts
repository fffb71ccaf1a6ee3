// Type-level tests of the generated bindings: every line here must compile, and every
// line after `@ts-expect-error` must be a type error (or tsc fails on an unused directive).
import { createAuroraView, mockAuroraView, type RecoveryInfo, type SubscribeResult } from "@auroraview/sdk";
import {
  commands,
  events,
  topics,
  type SceneUpdate,
  type SceneUpdatesPayloadInput,
  type TopicMap,
  type BillingMessage,
  type DeclaredError,
  type Frozen,
  type Message,
  type MockHandlers,
  type Options,
  type PublicName,
  type Record_,
  type SpeechRequestInput,
  type TreeNode,
  type Vec3,
} from "./corpus.gen";
import {
  commands as streaming,
  type CommandMap as StreamingCommandMap,
  type MockHandlers as StreamingMockHandlers,
  type WatchItem,
} from "./streams.gen";

// A typed mock backend: each handler is checked against its command.
createAuroraView(
  mockAuroraView<MockHandlers>({
    primitives: (p) => `${p.s}|${p.i}`,
    enums: () => "green",
    positional_only: ([a, b]) => a - b,
    watch: async function* ({ total }) {
      yield { done: total, total };
    },
    export_with_progress: (p, progress) => (progress({ done: 1, total: 1 }), p.path),
    // @ts-expect-error a result of the wrong type
    sync_handler: () => "not a number",
  }),
);
// @ts-expect-error no such command
mockAuroraView<MockHandlers>({ no_such_command: () => 1 });

async function check(): Promise<void> {
  const s: string = await commands.primitives({ s: "a", i: 1, f: 1.5, b: true });
  // @ts-expect-error wrong param type
  await commands.primitives({ s: 1, i: 1, f: 1.5, b: true });
  // @ts-expect-error missing param
  await commands.primitives({ s: "a", i: 1, f: 1.5 });
  // @ts-expect-error unknown param
  await commands.primitives({ s: "a", i: 1, f: 1.5, b: true, extra: 1 });

  // `bytes` is a Uint8Array both ways (docs/binary.md), never a string.
  const raw: Uint8Array = await commands.rawBytes({ data: new Uint8Array([0x89, 0x50]) });
  void raw;
  // @ts-expect-error bytes are not sent as a string
  await commands.rawBytes({ data: "iVBO" });
  // @ts-expect-error nor received as one
  const rawText: string = await commands.rawBytes({ data: new Uint8Array(0) });
  void rawText;

  await commands.noParams();
  await commands.allOptional();
  await commands.allOptional({ page: 2 });
  await commands.optionalVsDefault({ required_opt: null });
  // @ts-expect-error required (even if nullable) cannot be omitted
  await commands.optionalVsDefault({});

  const r: "ok" | "failed" = await commands.literals({ mode: "fast", level: 2 });
  // @ts-expect-error not one of the literals
  await commands.literals({ mode: "medium", level: 2 });
  // @ts-expect-error not one of the literal numbers
  await commands.literals({ mode: "fast", level: 4 });

  const c: "red" | "green" = await commands.enums({ color: "red", priority: 2 });
  // @ts-expect-error not an enum value
  await commands.enums({ color: "blue", priority: 1 });

  const tree: TreeNode = await commands.recursive({ root: { name: "a", children: [{ name: "b" }] } });
  const label: string = tree.children[0]?.name ?? ""; // always present in output

  const pet = await commands.discriminated({ pet: { kind: "dog", good: true } });
  if (pet.kind === "cat") {
    const lives: number = pet.lives;
    void lives;
  }
  // @ts-expect-error a dog has no lives
  await commands.discriminated({ pet: { kind: "dog", lives: 9 } });

  const pair: [string, number, boolean] = await commands.tuples({ pair: [1, "a"], many: [1, 2, 3] });
  // @ts-expect-error tuple of the wrong shape
  await commands.tuples({ pair: ["a", 1], many: [] });

  const frozen: Frozen = await commands.frozenModel({ f: { key: "k", version: 1 } });
  // @ts-expect-error frozen models are readonly
  frozen.version = 2;

  const scores: Record<string, { x: number; y: number; z?: number }> = await commands.dicts({ scores: { a: 1 }, nested: { b: [1] } });
  await commands.aliased({ a: { userName: "ada" } });

  try {
    await commands.declaredErrors({ node_id: 1, new_name: "x" });
  } catch (e) {
    const err = e as DeclaredError;
    switch (err.name) {
      case "NameTaken": {
        const field: string = err.data.field;
        void field;
        break;
      }
      case "NotFound":
        break;
      default: {
        const never: never = err;
        void never;
      }
    }
  }

  const off = events.selectionChanged.on((ids) => {
    const first: number | undefined = ids[0];
    void first;
  });
  off();
  events.progress.once((p) => void p.x);
  events.exportScene.send({ recursive: true });
  events.ping.send(null);
  // @ts-expect-error page-bound events cannot be sent
  events.selectionChanged.send([1]);
  // @ts-expect-error wrong payload
  events.exportScene.send({ recursive: "yes" });

  // Output shapes keep the class name and carry every field; input shapes may omit defaults.
  const v: Vec3 = await commands.modelInOut({ v: { x: 1, y: 2 } });
  const z: number = v.z;
  // @ts-expect-error the output shape always has z
  const noZ: Vec3 = { x: 1, y: 2 };

  // Open string enums: the known values and any other string, nothing else.
  const known: SpeechRequestInput = { model: "small", size: "256x256", voice: "echo" };
  const custom: SpeechRequestInput = { model: "my-own-model", size: "512x512", voice: "nova" };
  // @ts-expect-error still a string
  const numeric: SpeechRequestInput = { model: 3 };

  // A big discriminated union narrows on `type`, in results, params and events.
  for (const ev of await commands.streamEvents()) {
    switch (ev.type) {
      case "text.delta": {
        const delta: string = ev.delta;
        void delta;
        break;
      }
      case "stream.done": {
        const used: number = ev.usage.output_tokens;
        void used;
        break;
      }
    }
  }
  // @ts-expect-error no such event type
  await commands.replay({ event: { type: "stream.paused" } });
  // @ts-expect-error a delta needs its index
  await commands.replay({ event: { type: "text.delta", delta: "x" } });
  events.stream.on((e) => {
    if (e.type === "stream.error") {
      const retry: boolean = e.retryable; // a default, always present in output
      void retry;
    }
  });

  // Same class name in two modules: two types, never merged.
  const chat: Message = await commands.chatMessage({ m: { role: "user", text: "a" } });
  // @ts-expect-error the billing message is another type
  const bill: BillingMessage = chat;
  const recs: Record_[] = await commands.records({ r: { id: 1 }, e: { value: 2 } });
  const pub: PublicName = { value: 1 };
  const page = await commands.pageOfUsage();
  const cursor: string | null = page.next_cursor;

  // Nested aliases keep their names: Ids = Id[].
  await commands.aliases({ tags: ["a"], data: { k: [1, "x", null] }, ids: [1, 2] });
  // @ts-expect-error ids are numbers
  await commands.aliases({ tags: [], data: null, ids: ["1"] });

  // Streams and channels from the Python corpus (more in checkStreams below).
  for await (const p of commands.watch({ total: 2 })) {
    const done: number = p.done;
    // @ts-expect-error an item is a Progress
    const text: string = p;
    void done, text;
  }
  for await (const n of commands.countSync()) void (n + 1);
  const exported: string = await commands.exportWithProgress({ path: "/x", progress: (p) => void p.total });
  // @ts-expect-error the channel callback is required
  await commands.exportWithProgress({ path: "/x" });
  const lines: number = await commands.rebuildWithLog({ log: (line) => void line.length });
  // @ts-expect-error a stream is not a promise
  void commands.watch({ total: 1 }).then;

  void s, r, c, label, pair, scores, z, noZ, known, custom, numeric, bill, recs, pub, cursor, exported, lines;
}
void check;

// Streams and channels (streams.gen.ts, from the hand-written contract streams.json: it does
// not wait on the Python side). Items are typed in `for await`, callbacks in the params.
createAuroraView(
  mockAuroraView<StreamingMockHandlers>({
    watch: async function* (p) {
      for (let done = 1; done <= p.total; done++) yield { done, total: p.total };
    },
    count: function* (p) {
      for (let i = 0; i < (p?.n ?? 3); i++) yield i; // a sync generator
    },
    ticks: () => [1, null, 2], // any iterable
    export: async (p, progress) => {
      progress({ done: 1, total: 1 });
      return p.path;
    },
    rebuild: (_p, log) => {
      log("built");
      return null;
    },
    get_total: () => 3,
  }),
);
mockAuroraView<StreamingMockHandlers>({
  // @ts-expect-error a stream's handler yields its item type
  watch: function* () { yield "not progress"; },
  // @ts-expect-error a stream's handler returns items, not a result
  ticks: async () => 1,
  // @ts-expect-error a channel command's handler sends its item type
  export: (p, progress: (item: string) => void) => p.path,
  // @ts-expect-error the channel is not in a handler's params
  rebuild: (p) => p.log,
});
// @ts-expect-error no such command (the handlers are an intersection: still checked)
mockAuroraView<StreamingMockHandlers>({ get_total: () => 1, no_such_command: () => 1 });

async function checkStreams(): Promise<void> {
  for await (const p of streaming.watch({ total: 3 })) {
    const done: number = p.done;
    const item: WatchItem = p;
    // @ts-expect-error an item is a Progress
    const wrong: string = p;
    void done, item, wrong;
  }
  const controller = new AbortController();
  for await (const n of streaming.count({ n: 10 }, { signal: controller.signal, timeout: 5000 })) {
    if (n === 5) break;
  }
  for await (const n of streaming.count()) {
    // @ts-expect-error the items of count are numbers
    const text: string = n;
    void text;
  }
  for await (const t of streaming.ticks({ timeout: 100 })) {
    const tick: number | null = t;
    // @ts-expect-error an item may be null
    const num: number = t;
    void tick, num;
  }
  // @ts-expect-error a stream is not a promise
  const asPromise: Promise<unknown> = streaming.watch({ total: 1 });
  // @ts-expect-error a stream has no `then`
  void streaming.watch({ total: 1 }).then(() => undefined);
  // @ts-expect-error a stream's params are checked
  streaming.watch({ total: "3" });
  // @ts-expect-error ticks takes no params
  streaming.ticks({ n: 1 });

  const path: string = await streaming.export({ path: "/tmp/x", progress: (p) => void p.done });
  await streaming.export({ path: "/tmp/x", overwrite: true, progress: () => undefined }, { timeout: 1000 });
  // @ts-expect-error the channel callback is required
  await streaming.export({ path: "/tmp/x" });
  // @ts-expect-error the callback takes the item type
  await streaming.export({ path: "/tmp/x", progress: (p: string) => void p });
  // @ts-expect-error a channel command returns its result, not a stream
  for await (const x of streaming.export({ path: "/tmp/x", progress: () => undefined })) void x;

  await streaming.rebuild({ log: (line) => void line.toUpperCase() });
  // @ts-expect-error a command whose only parameter is a channel still takes params
  await streaming.rebuild();
  // @ts-expect-error ... with the callback
  await streaming.rebuild({});

  const mapped: StreamingCommandMap["watch"]["item"] = { done: 1, total: 2 };
  const end: StreamingCommandMap["watch"]["result"] = null;
  const sent: StreamingCommandMap["export"]["item"] = mapped;
  void asPromise, path, end, sent;
}
void checkStreams;

// Topics (docs/topics.md): the handler gets the output shape, a publish takes the input shape,
// and only what clients may do exists.
async function checkTopics(): Promise<void> {
  const sub = topics.sceneUpdates.subscribe(
    (update, publication) => {
      const visible: boolean = update.visible; // a default: always present in what subscribers receive
      const whole: SceneUpdate = update;
      const offset: number = publication.offset;
      void visible, whole, offset;
    },
    { onRecovery: (info: RecoveryInfo) => void (info.recovered ? info.offset : info.reason) },
  );
  const position: SubscribeResult = await sub.ready;
  await topics.sceneUpdates.publish({ node: "cube" }); // `visible` may be left out of a publish
  const input: SceneUpdatesPayloadInput = { node: "sphere", visible: false };
  const { offset } = await topics.sceneUpdates.publish(input, { timeout: 1000 });
  // @ts-expect-error a publish of the wrong shape is refused
  await topics.sceneUpdates.publish({ node: 1 });
  // @ts-expect-error a publish must have the required fields
  await topics.sceneUpdates.publish({ visible: true });
  // @ts-expect-error the handler's parameter is the payload type
  topics.sceneUpdates.subscribe((update: { node: number }) => void update);
  topics.status.subscribe((n) => void (n + 1));
  // @ts-expect-error status carries numbers
  topics.status.subscribe((s: string) => void s);
  // @ts-expect-error only the app publishes on status
  void topics.status.publish(1);
  await topics.jobsSubmit.publish({ x: 1, y: 2 });
  // @ts-expect-error a publish-only topic cannot be subscribed to
  topics.jobsSubmit.subscribe(() => undefined);
  // @ts-expect-error jobs/submit takes a Vec3
  await topics.jobsSubmit.publish({ x: "1", y: 2 });
  const message: TopicMap["scene/updates"] = { node: "a", visible: true };
  const mock = mockAuroraView<MockHandlers, TopicMap>({});
  mock.publishAsHost("status", 3);
  // @ts-expect-error the mock's host-side publish is typed by TopicMap
  mock.publishAsHost("status", "3");
  // @ts-expect-error no such topic
  mock.publishAsHost("no/such/topic", 1);
  await sub.unsubscribe();
  void position, offset, message;
}
void checkTopics;

// The mock's events are typed by the generated `events` object: name and payload together.
function checkMockEvents(): void {
  const mock = mockAuroraView<MockHandlers>({});
  mock.emit(events.progress, { x: 1, y: 2, z: 3 });
  mock.emit(events.selectionChanged, [1, 2]);
  // @ts-expect-error progress carries a Vec3
  mock.emit(events.progress, [1, 2]);
  // @ts-expect-error the page sends export_scene: it is not pushed to the page
  mock.emit(events.exportScene, { recursive: true });
  mock.emit("progress", "untyped by wire name");
  const exports: Options[] = mock.sentOf(events.exportScene);
  // @ts-expect-error sentOf(ping) holds nulls
  const wrong: string[] = mock.sentOf(events.ping);
  mock.reset({ no_params: () => null });
  // @ts-expect-error reset takes the mock's own handler type
  mock.reset({ no_params: () => 1 });
  void exports, wrong;
}
void checkMockEvents;
