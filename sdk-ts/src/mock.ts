// Owns the mock backend: the real client over an in-memory transport answered by handlers.
//
// Reusing the client means a page tested against the mock sees what it would see in a
// window: the same errors (a thrown plain error arrives as an `InvokeError` with code
// `internal`), timeouts, cancellation and listener isolation.
//
// Streams and channels (docs/streams.md) as the host serves them: a handler that returns a
// generator or an async iterable (or any iterable, such as an array, when the page iterates
// it with `stream()`) serves a stream, its values sent as numbered items within a window of
// MOCK_WINDOW un-acknowledged ones, then a `null` result; every handler's second argument
// sends an item of its call (a channel).
//
// Binary calls (docs/binary.md) as well: the client sends them through `sendBinary`, the mock
// puts the attachments back before the handler sees its params (the same `Uint8Array`s the
// page passed), and answers with a frame's worth of reply (`receiveBinary`), so `Uint8Array`s
// go both ways unchanged, as raw bytes do through a real host.
//
// Topics (docs/topics.md) as an open host serves them: any topic name may be subscribed and
// published to, with epoch "mock" and offsets from 1. The page's publishes are recorded
// (`published`) and reach its own subscribers; `publishAsHost` publishes as Python's
// `app.publish` would. A handler named after a reserved method (`"auroraview.subscribe"`,
// `"auroraview.publish"`, `"auroraview.unsubscribe"`) runs first with the request's params: one
// that throws (say an `InvokeError` with code `forbidden`) refuses the request with that error.

import { createClient, extendClient, type AuroraViewClient, type ItemStream, type StreamOptions } from "./client.js";
import { InvokeError, isInvokeError, type InvokeErrorShape } from "./errors.js";
import { extractBlobs, insertBlobs } from "./frame.js";
import type { CallId, ClientMessage, HostMessage } from "./protocol.gen.js";
import type { HostEvent, PageEvent } from "./bindings.js";
import type { PublishResult } from "./topics.js";
import type { CallMessage, Transport, TransportSink } from "./transport.js";

/** Handlers of a mock backend: return a value, or throw an `InvokeError` to reject. A
 * handler that returns a generator (sync or async) or an async iterable serves a stream, and
 * so does any other iterable (an array) when the page iterates the command with `stream()`
 * (or a generated stream wrapper): each value is an item, then the result is `null`; a throw
 * ends it with that error; cancelling it calls the iterator's `return()`. The second argument
 * sends an item of the call, as a channel command's `send` does; it throws once the call has
 * ended. Generated bindings export a `MockHandlers` type that checks each one against its
 * command. */
export type AnyMockHandlers = Record<string, ((params: never, send: (item: unknown) => void) => unknown) | undefined>;

/** The payload type of a generated event (`PageEvent<T>` or `HostEvent<T>`). */
export type PayloadOf<E> = E extends PageEvent<infer T> ? T : E extends HostEvent<infer T> ? T : never;

/** Topic names and their payload types, for a typed `publishAsHost` (generated bindings
 * export `TopicMap`). */
export type AnyTopics = Record<string, unknown>;

/** A backend for frontend tests: commands answered by `handlers`, events recorded. */
export interface MockAuroraView<T extends object = AnyTopics, H extends object = AnyMockHandlers> extends AuroraViewClient {
  /** Events the page sent with `send_event`, in order. */
  readonly sent: Array<{ event: string; detail: unknown }>;
  /** Messages the page published (`publish`, generated `topics.x.publish`), in order. */
  readonly published: Array<{ topic: string; data: unknown }>;
  /** Publish `data` on `topic` as the app does (Python's `app.publish`): the page's
   * subscribers get it at once. Returns its offset. */
  publishAsHost<K extends keyof T & string>(topic: K, data: T[K]): PublishResult;
  /** Whether the page is subscribed to `topic` on the wire (its last subscriber not gone). */
  subscribed(topic: string): boolean;
  /** Push a generated event (`events.selectionChanged`) to the page's listeners, as Python's
   * `emit` would: the payload is checked against the event's type. */
  emit<E extends PageEvent<unknown>>(event: E, payload: PayloadOf<E>): void;
  /** Push an event to the page's listeners by wire name (untyped). */
  emit(event: string, payload: unknown): void;
  /** The payloads the page sent as generated event `event` (`events.select`), in order. */
  sentOf<E extends HostEvent<unknown>>(event: E): Array<PayloadOf<E>>;
  /** Back to a fresh mock for the next test: `sent` and `published` emptied, every topic's
   * history and subscription forgotten, calls in flight left unanswered (as a host that
   * went away), and, when given, `handlers` answering from now on (instead of the first ones). Listeners the page
   * registered stay: a test that unmounts its components has removed them. */
  reset(handlers?: Partial<H>): void;
  /** The mock plays the host, so unlike a real client's its `trigger` works: an event goes
   * to the listeners as `emit` sends it, and the seeds' `__auroraview_call_result` with
   * `{id, ok, result | error}` settles call `id`, for tests written against the seeds. */
  trigger(event: string, payload?: unknown): void;
}

/** The `{name, code, message, data}` the host would send for what a handler threw. */
function shapeOf(err: unknown): InvokeErrorShape {
  if (isInvokeError(err)) return { name: err.name, code: err.code, message: err.message, data: err.data };
  if (err instanceof Error) return { name: err.name, code: "internal", message: err.message, data: null };
  return { name: "Error", code: "internal", message: String(err), data: null };
}

/** Items the mock sends beyond the last acknowledged one at most, as the host's STREAM_WINDOW. */
const MOCK_WINDOW = 256;

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/** The iterator a handler's result serves as a stream, or undefined when it is a plain result:
 * an async iterable, a generator (an iterator that is its own iterable, not an array), or,
 * for a call the page made with `stream()`, any iterable object. */
function iteratorOf(value: unknown, streamCall: boolean): AnyIterator | undefined {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return undefined;
  const v = value as { next?: unknown; [Symbol.iterator]?: () => Iterator<unknown>; [Symbol.asyncIterator]?: () => AsyncIterator<unknown> };
  if (typeof v[Symbol.asyncIterator] === "function") return v[Symbol.asyncIterator]!();
  if (typeof v[Symbol.iterator] !== "function") return undefined;
  if (streamCall) return v[Symbol.iterator]!();
  if (typeof v.next === "function" && !Array.isArray(value)) return value as Iterator<unknown>;
  return undefined;
}

/** What the mock knows of one call in flight. */
interface MockCall {
  /** The last item sent and the last one the page acknowledged. */
  seq: number;
  acked: number;
  /** Ended: answered, or cancelled by the page. */
  over: boolean;
  cancelled: boolean;
  /** Wakes a stream waiting for an ack (or a cancel) at the window. */
  wake: (() => void) | undefined;
  /** Stops the stream's iterator (`return()`), once. */
  stop: (() => void) | undefined;
}

/** A topic as the mock host keeps it: every message, for a resubscription's recovery. */
interface MockTopic {
  history: unknown[];
  subscribed: boolean;
}

const MOCK_EPOCH = "mock";

function invalidParams(message: string): InvokeError {
  return new InvokeError({ name: "ValidationError", code: "invalid_params", message, data: null });
}

export function mockAuroraView<H extends object = AnyMockHandlers, T extends object = AnyTopics>(handlers: H): MockAuroraView<T, H> {
  let table = handlers as unknown as Record<string, ((params: unknown, send: (item: unknown) => void) => unknown) | undefined>;
  const sent: Array<{ event: string; detail: unknown }> = [];
  const published: Array<{ topic: string; data: unknown }> = [];
  const topics = new Map<string, MockTopic>();
  const calls = new Map<CallId, MockCall>();
  /** True while the client sends the call of a stream the page iterates (see `stream` below). */
  let sendingStream = false;
  let sink: TransportSink | undefined;
  const deliver = (frame: HostMessage): void => sink?.receive([frame]);

  /** Send `item` as the next item of `call`: only while it is in flight, as the host does. */
  function sendItem(id: CallId, call: MockCall, item: unknown): void {
    if (call.over) throw new Error(`ChannelClosed: call ${String(id)} has ended, its items can no longer be sent`);
    call.seq += 1;
    deliver({ type: "item", id, seq: call.seq, item });
  }

  /** Serve `iterator` as the stream of `call`: its values as items, within the window. */
  async function serve(id: CallId, call: MockCall, iterator: AnyIterator): Promise<void> {
    let returned = false;
    call.stop = () => {
      if (returned) return;
      returned = true;
      try {
        // An async generator still running its step queues this; a settled one runs `finally`.
        void Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // a sync generator's `finally` threw: the stream is over either way
      }
    };
    try {
      for (;;) {
        while (!call.cancelled && call.seq - call.acked >= MOCK_WINDOW) {
          await new Promise<void>((resolve) => (call.wake = resolve));
          call.wake = undefined;
        }
        if (call.cancelled) return;
        const step = await iterator.next();
        if (call.cancelled) return;
        if (step.done) return;
        sendItem(id, call, step.value);
      }
    } finally {
      if (call.cancelled) call.stop();
      else returned = true; // done, or it threw: nothing to close
    }
  }

  function topicOf(name: string): MockTopic {
    let topic = topics.get(name);
    if (topic === undefined) {
      topic = { history: [], subscribed: false };
      topics.set(name, topic);
    }
    return topic;
  }

  /** Publish `data` on `name`: its subscriber (the page) gets it before the publish returns. */
  function publishOn(name: string, data: unknown): PublishResult {
    const topic = topicOf(name);
    topic.history.push(data);
    const offset = topic.history.length;
    if (topic.subscribed) deliver({ type: "publication", topic: name, epoch: MOCK_EPOCH, offset, data });
    return { epoch: MOCK_EPOCH, offset };
  }

  /** A reserved topic method: its result, publications to send after it. */
  function topicRequest(method: string, params: unknown): { result: unknown; replay: HostMessage[] } {
    const p = (params ?? {}) as { topic?: unknown; since?: { epoch?: unknown; offset?: unknown }; data?: unknown };
    if (typeof p.topic !== "string" || p.topic === "") throw invalidParams(`${method} takes {"topic": str, ...}`);
    const name = p.topic;
    if (method === "auroraview.unsubscribe") {
      const topic = topics.get(name);
      if (topic !== undefined) topic.subscribed = false;
      return { result: null, replay: [] };
    }
    if (method === "auroraview.publish") {
      published.push({ topic: name, data: p.data });
      return { result: publishOn(name, p.data), replay: [] };
    }
    if (method !== "auroraview.subscribe") {
      throw new InvokeError({ name: "MethodNotFound", code: "method_not_found", message: `no command named "${method}"`, data: null });
    }
    const topic = topicOf(name);
    const offset = topic.history.length;
    const was = topic.subscribed;
    topic.subscribed = true;
    if (p.since === undefined) return { result: { epoch: MOCK_EPOCH, offset }, replay: [] };
    const since = p.since;
    if (was || typeof since.offset !== "number") return { result: { epoch: MOCK_EPOCH, offset }, replay: [] };
    if (since.epoch !== MOCK_EPOCH) {
      return { result: { epoch: MOCK_EPOCH, offset, recovered: false, reason: "the epoch changed" }, replay: [] };
    }
    if (since.offset > offset) {
      return { result: { epoch: MOCK_EPOCH, offset, recovered: false, reason: "since.offset is ahead of the topic" }, replay: [] };
    }
    const replay: HostMessage[] = [];
    for (let o = since.offset + 1; o <= offset; o++) {
      replay.push({ type: "publication", topic: name, epoch: MOCK_EPOCH, offset: o, data: topic.history[o - 1] });
    }
    return { result: { epoch: MOCK_EPOCH, offset: since.offset, recovered: true }, replay };
  }

  /** Answer a call of a reserved topic method, after its hook handler (if any) allowed it. */
  async function answerTopic(id: CallId, method: string, params: unknown): Promise<void> {
    const hook = table[method];
    let frame: HostMessage;
    let replay: HostMessage[] = [];
    try {
      // Later, as a host answers: never inside the page's own `send`.
      await (hook === undefined ? undefined : hook(params, () => {}));
      const answered = topicRequest(method, params);
      replay = answered.replay;
      frame = { type: "call_result", id, ok: true, result: answered.result };
    } catch (err) {
      frame = { type: "call_result", id, ok: false, error: shapeOf(err) };
    }
    deliver(frame);
    for (const publication of replay) deliver(publication);
  }

  /** Answer call `id`; `blobs` for a binary call, whose params hold placeholders for them. */
  async function answer(id: CallId, method: string, params: unknown, streamCall: boolean, blobs?: readonly Uint8Array[]): Promise<void> {
    const handler = table[method];
    const call: MockCall = { seq: 0, acked: 0, over: false, cancelled: false, wake: undefined, stop: undefined };
    calls.set(id, call);
    let frame: HostMessage;
    if (!handler) {
      const error = { name: "MethodNotFound", code: "method_not_found", message: `no command named "${method}"`, data: null };
      frame = { type: "call_result", id, ok: false, error };
    } else {
      try {
        if (blobs !== undefined) params = insertBlobs(params, blobs);
        let result = await handler(params, (item) => sendItem(id, call, item));
        const iterator = iteratorOf(result, streamCall);
        if (iterator !== undefined) {
          await serve(id, call, iterator);
          result = null;
        }
        frame = { type: "call_result", id, ok: true, result };
      } catch (err) {
        frame = { type: "call_result", id, ok: false, error: shapeOf(err) };
      }
    }
    call.over = true;
    calls.delete(id);
    // A host that cancelled a call sends no reply for it.
    if (call.cancelled) return;
    if (blobs !== undefined && frame.type === "call_result" && frame.ok) {
      // A binary call's reply travels as a frame: the result's bytes as attachments.
      const reply = extractBlobs(frame.result);
      sink?.receiveBinary({ ...frame, result: reply.value }, reply.blobs);
    } else {
      deliver(frame);
    }
  }

  const transport: Transport = {
    state: "open",
    attach(target) {
      sink = target;
    },
    send(message: ClientMessage) {
      if (message.type === "call" && message.method.startsWith("auroraview.")) void answerTopic(message.id, message.method, message.params);
      else if (message.type === "call") void answer(message.id, message.method, message.params, sendingStream);
      else if (message.type === "event") sent.push({ event: message.event, detail: message.detail });
      else if (message.type === "cancel") {
        const call = calls.get(message.id);
        if (call === undefined) return;
        call.cancelled = true;
        call.over = true; // its channel's `send` throws from now on
        call.wake?.();
        call.stop?.();
      } else if (message.type === "ack") {
        const call = calls.get(message.id);
        if (call === undefined || message.seq <= call.acked) return;
        call.acked = message.seq;
        call.wake?.();
      }
    },
    sendBinary(message: CallMessage, blobs: readonly Uint8Array[]) {
      void answer(message.id, message.method, message.params, false, blobs);
    },
  };
  const client = createClient(transport);
  return extendClient(client, {
    sent,
    published,
    publishAsHost<K extends keyof T & string>(topic: K, data: T[K]): PublishResult {
      return publishOn(topic, data);
    },
    subscribed(topic: string): boolean {
      return topics.get(topic)?.subscribed ?? false;
    },
    /** The client's `stream`, marking its calls: a handler's array is then served as items. */
    stream(method: string, params?: unknown, options?: StreamOptions): ItemStream<unknown> {
      const items = client.stream(method, params, options);
      return Object.freeze({
        [Symbol.asyncIterator]: (): AsyncIterator<unknown> => {
          sendingStream = true; // the iteration sends its call at once
          try {
            return items[Symbol.asyncIterator]();
          } finally {
            sendingStream = false;
          }
        },
      });
    },
    emit(event: string | PageEvent<unknown>, payload: unknown): void {
      deliver({ type: "event", event: typeof event === "string" ? event : event.name, payload });
    },
    sentOf<E extends HostEvent<unknown>>(event: E): Array<PayloadOf<E>> {
      return sent.filter((s) => s.event === event.name).map((s) => s.detail as PayloadOf<E>);
    },
    reset(next?: Partial<H>): void {
      sent.length = 0;
      published.length = 0;
      topics.clear();
      for (const call of calls.values()) {
        call.cancelled = true;
        call.over = true;
        call.wake?.();
        call.stop?.();
      }
      calls.clear();
      if (next !== undefined) table = next as unknown as typeof table;
    },
    trigger(event: string, payload?: unknown): void {
      if (event === "__auroraview_call_result") {
        const p = payload as { id?: CallId } | null | undefined;
        if (p != null && p.id !== undefined) deliver({ ...p, type: "call_result" } as HostMessage);
        return;
      }
      deliver({ type: "event", event, payload });
    },
  });
}
