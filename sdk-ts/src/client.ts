// Owns the page-side client: calls and their settlement, listeners, readiness, namespaces.
//
// Transport-agnostic (see transport.ts): the injected bridge runs it over WebKit IPC, the
// mock over an in-memory fake, a WebSocket page over a socket. Everything is closures over
// one scope rather than a class, so methods work detached (`const { call } = auroraview`)
// and the bundle needs no private-field lowering.
//
// Only the transport delivers replies and events (RELIABILITY.md case 28): `trigger`, the
// seeds' name for the host's delivery, throws on a real client, and the client's state
// (pending calls, listeners, namespaces) lives in maps and builtins taken at load
// (intrinsics.ts), so a page script that replaces builtins later never reaches it.
//
// Streams and channels (docs/streams.md): a call may receive numbered `item` frames before
// its one `call_result`. A stream (`stream()`) buffers them for a `for await` consumer; a
// call with `onItem` hands each to the callback. The client acknowledges what was consumed
// (credit: the host sends at most its window of items beyond the last ack), and remembers
// the ids of such calls it cancelled until the host's one terminal reply for them arrives
// (or the connection drops, or 1024 later cancels push them out), so that reply and items
// still in flight are dropped quietly rather than counted as `unmatched`.
//
// Binary data (docs/binary.md): a call whose params hold a `Uint8Array` (or any typed array,
// DataView or ArrayBuffer), or one made with `binary: true`, leaves through the transport's
// `sendBinary` with its bytes cut out as raw attachments (frame.ts); its reply may come back
// the same way (`receiveBinary`) and the attachments are put back into the result before
// the caller sees it. Streams and calls with `onItem` never take that path: a binary command
// cannot be a stream or take a channel.
//
// Topics (docs/topics.md, topics.ts): `subscribe` and `publish` are calls to the reserved
// methods `auroraview.subscribe`/`unsubscribe`/`publish`; `publication` frames go to the
// topics' subscribers, and the connection's state changes to the topics (resubscription
// after a reconnection).

import { InvokeError } from "./errors.js";
import { extractBlobs, hasBinary, insertBlobs } from "./frame.js";
import {
  appended,
  asyncIteratorSymbol,
  clearTimer,
  create,
  freeze,
  getOwnPropertyDescriptors,
  getPrototypeOf,
  isAborted,
  ObjectPrototype,
  offAbort,
  onAbort,
  privateMap,
  PromiseIntrinsic,
  ProxyIntrinsic,
  Queue,
  reflectGet,
  resolveAsData,
  setTimer,
  without,
} from "./intrinsics.js";
import type { CallId, ClientMessage, ErrorCode, HostMessage } from "./protocol.gen.js";
import {
  createTopics,
  PUBLISH_METHOD,
  type PublishResult,
  type SubscribeOptions,
  type Subscription,
  type TopicHandler,
} from "./topics.js";
import type { CallMessage, Transport, TransportState } from "./transport.js";

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds before the call is cancelled and rejected with code `timeout`. */
  timeout?: number;
  /** Aborting cancels the call on the host and rejects it with code `cancelled`. */
  signal?: AbortSignal;
  /** Items of a channel command, in order, before the promise settles (docs/streams.md).
   * An item counts as consumed once this returns; one that throws is logged and the call
   * goes on. */
  onItem?: (item: unknown) => void;
  /** Send the call the binary way (docs/binary.md): every `Uint8Array` (typed array,
   * DataView, ArrayBuffer) anywhere in the params travels raw. Generated bindings of a
   * binary command set it. Without it a call goes that way anyway when its params hold
   * binary data within `BINARY_SCAN_DEPTH` levels; `false` does not prevent that (the bytes
   * would otherwise be mangled into JSON). Ignored with `onItem`: a channel command is never
   * binary. */
  binary?: boolean;
}

/** Options of one stream (one iteration of an `ItemStream`). */
export interface StreamOptions {
  /** Milliseconds the iteration may take, until the loop has seen the end: then the call is
   * cancelled and the loop throws code `timeout`. */
  timeout?: number;
  /** Aborting cancels the call on the host and makes the loop throw code `cancelled` (at
   * once: items still buffered are dropped). */
  signal?: AbortSignal;
}

/**
 * The items of a stream command: an `AsyncIterable` that starts its call when iteration
 * starts. Each `for await` (each `[Symbol.asyncIterator]()`) makes its own call. The loop
 * ends when the command returns; an error the command raised, a lost connection or a
 * broken sequence is thrown after the items received before it; `break` (`return()`)
 * cancels the call on the host.
 */
export interface ItemStream<T> extends AsyncIterable<T> {}

/** Receives an event's payload. */
export type Listener = (payload: unknown) => void;

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/** `client.api.rename(p)` is `client.call("api.rename", p)`. */
export type Namespace = { readonly [method: string]: (params?: unknown, options?: CallOptions) => Promise<unknown> };

/** Counters for diagnostics and tests. */
export interface ClientStats {
  /** Calls sent and not yet settled. */
  pending: number;
  /** Replies whose id matched no call in flight (late after a timeout, duplicate, or not ours). */
  unmatched: number;
  /** Deliveries the transport refused as not coming from the host: a call of the window's
   * receiver without this document's key, a socket event the browser did not make. */
  refused: number;
  /** Publications of a topic dropped because their offset was delivered already (docs/topics.md:
   * never twice to the application). Publications of a topic not subscribed count as `unmatched`. */
  duplicates: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /** Milliseconds before the call is cancelled and rejected with code `timeout` (the message
   * may still have been published). */
  timeout?: number;
  /** Aborting rejects with code `cancelled` (the message may still have been published). */
  signal?: AbortSignal;
}

/** The page-side API every backend offers (the bridge, a client, a mock). */
export interface AuroraView {
  call(method: string, params?: unknown, options?: CallOptions): Promise<unknown>;
  /** The items of stream command `method` (see `ItemStream`): nothing is sent before the
   * iteration starts. */
  stream(method: string, params?: unknown, options?: StreamOptions): ItemStream<unknown>;
  send_event(event: string, detail?: unknown): void;
  /** Subscribe `handler` to topic `topic` (docs/topics.md): it gets each message once, in
   * publish order, from the subscription's `ready` on; a reconnection resubscribes and
   * reports to `options.onRecovery`. Local subscribers of one topic share one subscription.
   * Optional here (a backend of your own, a bridge from an auroraview without topics); every
   * client of this SDK has it. */
  subscribe?(topic: string, handler: TopicHandler, options?: SubscribeOptions): Subscription;
  /** Publish `data` on topic `topic` (validated by the host against the topic's type):
   * resolves with the offset it got, once every subscriber connected has it queued. */
  publish?(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  on(event: string, handler: Listener): Unsubscribe;
  once(event: string, handler: Listener): Unsubscribe;
  off(event: string, handler?: Listener): void;
}

/** A client over a transport. Any property it does not define is a namespace too:
 * `client.tools.x(p)` is `client.call("tools.x", p)`. */
export interface AuroraViewClient extends AuroraView {
  subscribe(topic: string, handler: TopicHandler, options?: SubscribeOptions): Subscription;
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  /** The seeds' name for how the host delivers events and replies to the page. Only the
   * host may deliver them (RELIABILITY.md case 28), so on a real client it throws; use
   * `send_event` to reach Python. The mock (`mockAuroraView`) keeps a working one, playing
   * the host in tests. */
  trigger(event: string, payload?: unknown): void;
  stats(): ClientStats;
  /** Resolves when the transport first opens; rejects (code `disconnected`) if it closes first. */
  readonly ready: Promise<void>;
  readonly state: TransportState;
  readonly api: Namespace;
}

export interface ClientOptions {
  /** Also called with every event delivered to the page, after the `on` listeners. */
  onEvent?: (event: string, payload: unknown) => void;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (reason: Error) => void;
  /** Set only when the call has a timeout or an abort signal (kept off the common path). */
  cleanup: (() => void) | undefined;
  /** Takes the call's items: set for a stream and a call with `onItem`; a plain call gets
   * one that drops them at its first item. */
  item: ((seq: unknown, item: unknown) => void) | undefined;
}

type CallResult = Extract<HostMessage, { type: "call_result" }>;
type ItemFrame = Extract<HostMessage, { type: "item" }>;

/** A consumer holding items acknowledges at least every this many (docs/streams.md). */
const ACK_EVERY = 32;
/** Cancelled stream and channel calls whose host reply is still awaited, at most. */
const CANCELLED_KEPT = 1024;
/** How deep in the params (levels of arrays and plain objects) a call without `binary: true`
 * looks for binary data. Bounded, so a deep ordinary value costs little more than its top;
 * generated bindings of binary commands pass `binary: true` and are not bounded. */
export const BINARY_SCAN_DEPTH = 16;

/** What a stream's `next()` is waiting for. */
interface Waiter {
  resolve: (result: IteratorResult<unknown>) => void;
  reject: (reason: Error) => void;
}

function nothing(): void {}

/** Whether `params` hold binary data (`hasBinary`, bounded). A getter that throws is left to
 * the text path, which reports it as it always did: `call` rejects, it never throws. */
function looksBinary(params: unknown): boolean {
  try {
    return hasBinary(params, BINARY_SCAN_DEPTH);
  } catch {
    return false;
  }
}

function failure(name: string, code: ErrorCode, message: string): InvokeError {
  return new InvokeError({ name, code, message, data: null });
}

function disconnected(reason: unknown): InvokeError {
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return failure("Disconnected", "disconnected", "the connection to the host is gone" + (why ? ": " + why : ""));
}

const abortError = (): InvokeError => failure("AbortError", "cancelled", "the call was aborted");
const timeoutError = (timeout: number): InvokeError => failure("TimeoutError", "timeout", `no reply within ${timeout} ms`);

function gap(id: CallId, method: string, seq: unknown, last: number): InvokeError {
  const call = `call ${String(id)}` + (method ? ` (${method})` : "");
  const expected = last === 0 ? "as its first item (seq 1)" : `after item ${last}`;
  return failure("Error", "internal", `item ${String(seq)} of ${call} arrived ${expected}: the host's items are out of sequence, the call is cancelled`);
}

/** Hand `result` to a waiting `next()` as data (a `then` put on `Object.prototype` must not
 * turn an iterator result into a thenable). */
function fulfil(waiter: Waiter, result: IteratorResult<unknown>): void {
  resolveAsData(waiter.resolve as (value: unknown) => void, result);
}

function settled(result: IteratorResult<unknown>): Promise<IteratorResult<unknown>> {
  return new PromiseIntrinsic((resolve) => resolveAsData(resolve as (value: unknown) => void, result));
}

function failed(error: Error): Promise<IteratorResult<unknown>> {
  return new PromiseIntrinsic((_resolve, reject) => reject(error));
}

/** A client calling the host through `transport` (which it attaches to at once). */
export function createClient(transport: Transport, { onEvent }: ClientOptions = {}): AuroraViewClient {
  const pending = privateMap<CallId, PendingCall>();
  /** Each event's listeners: a frozen array, replaced (not changed) by `on` and `off`. */
  const listeners = privateMap<string, readonly Listener[]>();
  let nextId = 1;
  let unmatched = 0;
  let state = transport.state;
  /** Stream and channel calls this client cancelled whose one terminal reply has not come
   * yet: that reply and items still on their way are dropped without counting as unmatched.
   * An id leaves at that reply (the host answers every call once, and a cancel naming no call
   * in flight not at all); all leave when the connection drops (that host forgot them); and
   * a ring of CANCELLED_KEPT slots bounds them (a host that never answers, the mock). */
  let cancelled = privateMap<CallId, true>();
  let cancelledRing = create(null) as Record<number, CallId>;
  let cancelledSlot = 0;
  /** Acknowledgements due once the batch being delivered is through (calls with `onItem`). */
  const afterBatch = new Queue<() => void>();

  let opened!: () => void;
  let neverOpened!: (error: Error) => void;
  const ready = new PromiseIntrinsic<void>((resolve, reject) => {
    opened = resolve;
    neverOpened = reject;
  });
  ready.catch(() => {}); // a page that never awaits `ready` gets no unhandled rejection

  /** Settle call `id` with `error` unless it is settled already; true if it was pending. */
  function drop(id: CallId, error: InvokeError): boolean {
    const entry = pending.get(id);
    if (entry === undefined) return false;
    pending.delete(id);
    if (entry.cleanup !== undefined) entry.cleanup();
    entry.reject(error);
    return true;
  }

  function transmit(id: CallId, message: ClientMessage): void {
    try {
      transport.send(message);
    } catch (err) {
      drop(id, disconnected(err));
    }
  }

  /** Send call `id` the binary way: its params' bytes cut out as attachments. */
  function transmitBinary(id: CallId, method: string, params: unknown): void {
    if (transport.sendBinary === undefined) {
      drop(id, failure("Error", "internal", `cannot call "${method}" with binary data: this transport carries no binary data (it has no sendBinary)`));
      return;
    }
    let message: CallMessage;
    let blobs: Uint8Array[];
    try {
      const extracted = extractBlobs(params);
      message = { type: "call", id, method, params: extracted.value };
      blobs = extracted.blobs;
    } catch (err) {
      drop(id, failure("Error", "internal", `cannot call "${method}": its params could not be framed: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    try {
      transport.sendBinary(message, blobs);
    } catch (err) {
      drop(id, disconnected(err));
    }
  }

  function cancel(id: CallId): void {
    try {
      transport.send({ type: "cancel", id });
    } catch {
      // gone with the connection: nothing left to cancel
    }
  }

  /** Note that stream or channel call `id` was cancelled here (see `cancelled`). */
  function remember(id: CallId): void {
    const evicted = cancelledRing[cancelledSlot];
    if (evicted !== undefined) cancelled.delete(evicted);
    cancelledRing[cancelledSlot] = id;
    cancelledSlot = (cancelledSlot + 1) % CANCELLED_KEPT;
    cancelled.set(id, true);
  }

  /** Settle stream or channel call `id` with `error` and cancel it on the host. */
  function abandon(id: CallId, error: InvokeError): void {
    if (drop(id, error)) {
      cancel(id);
      remember(id);
    }
  }

  /** Tell the host the caller consumed the items of call `id` up to `seq`. */
  function acknowledge(id: CallId, seq: number): void {
    try {
      transport.send({ type: "ack", id, seq });
    } catch {
      // gone with the connection: the call is rejected through setState
    }
  }

  function settle(frame: CallResult): void {
    const entry = pending.get(frame.id);
    if (entry === undefined) {
      // Cancelled or timed out already, or not ours. The reply a cancelled stream or channel
      // call is owed is expected, not unmatched.
      if (!cancelled.delete(frame.id)) unmatched += 1;
      return;
    }
    pending.delete(frame.id);
    if (entry.cleanup !== undefined) entry.cleanup();
    if (frame.ok) {
      resolveAsData(entry.resolve, frame.result);
    } else {
      entry.reject(new InvokeError(frame.error ?? { name: "Error", code: "internal", message: "malformed reply", data: null }));
    }
  }

  /** A message that came as a binary frame: a reply's attachments go back into its result
   * (only for a call still waiting: a late reply is not worth the walk), then it is settled
   * as any reply. Anything else in a frame is delivered as if it came as text. */
  function receiveBinary(message: HostMessage, blobs: Uint8Array[]): void {
    if (message === null || typeof message !== "object") return;
    if (message.type !== "call_result") {
      receive([message]);
      return;
    }
    if (!message.ok || pending.get(message.id) === undefined) {
      settle(message);
      return;
    }
    let result: unknown;
    try {
      result = insertBlobs(message.result, blobs);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      drop(message.id, failure("Error", "internal", "malformed binary reply: " + why));
      return;
    }
    settle({ type: "call_result", id: message.id, ok: true, result });
  }

  function deliver(event: string, payload: unknown): void {
    const list = listeners.get(event); // frozen: a listener that subscribes or leaves changes the next delivery
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const listener = list[i];
        try {
          listener(payload);
        } catch (err) {
          // One failing listener must not stop the others.
          console.error(`auroraview: listener for "${event}" threw`, err);
        }
      }
    }
    if (onEvent !== undefined) {
      try {
        onEvent(event, payload);
      } catch (err) {
        console.error(`auroraview: onEvent for "${event}" threw`, err);
      }
    }
  }

  /** An item of a call in flight goes to the call's taker (a stream's buffer, `onItem`). */
  function item(frame: ItemFrame): void {
    const entry = pending.get(frame.id);
    if (entry === undefined) {
      // Its call ended, timed out or was cancelled, or it is not ours.
      if (cancelled.get(frame.id) === undefined) unmatched += 1;
      return;
    }
    // A plain `call` of a stream or channel command: its items are dropped (and acknowledged,
    // so the host is not held at its window) and the call settles with its result.
    if (entry.item === undefined) entry.item = channel(frame.id, "", nothing);
    entry.item(frame.seq, frame.item);
  }

  function receive(frames: readonly HostMessage[]): void {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      if (frame === null || typeof frame !== "object") continue;
      if (frame.type === "call_result") {
        settle(frame);
      } else if (frame.type === "item") {
        item(frame);
      } else if (frame.type === "event" && typeof frame.event === "string") {
        deliver(frame.event, frame.payload);
      } else if (frame.type === "publication") {
        topics.publication(frame);
      }
    }
    // One acknowledgement per call with `onItem` that consumed items in this batch.
    if (afterBatch.size !== 0) for (let flush = afterBatch.shift(); flush !== undefined; flush = afterBatch.shift()) flush();
  }

  function setState(next: TransportState, reason?: string): void {
    const was = state;
    state = next;
    if (next === "open") {
      opened();
      topics.opened(); // after a reconnection: every subscription again, with its position
      return;
    }
    if (was === "open" || next === "closed") {
      // Deleting the entry being visited is allowed in a Map's forEach.
      pending.forEach((_entry, id) => drop(id, disconnected(reason)));
      // The host forgot every call: no reply is coming for those cancelled either.
      cancelled = privateMap<CallId, true>();
      cancelledRing = create(null) as Record<number, CallId>;
      cancelledSlot = 0;
    }
    if (was === "open" || next === "closed") topics.lost(next === "closed", disconnected(reason));
    if (next === "closed") neverOpened(disconnected(reason)); // no effect once opened
  }

  function call(method: string, params?: unknown, options?: CallOptions): Promise<unknown> {
    const id = nextId++;
    if (options === undefined || (options.timeout === undefined && !options.signal && options.onItem === undefined && options.binary !== true)) {
      // Binary params: the raw way. For ordinary params this one check allocates nothing.
      if (looksBinary(params)) return guardedCall(id, method, params, undefined, undefined, undefined, true);
      // The common case: no timer, no listener, no per-call closures beyond the promise's.
      return new PromiseIntrinsic((resolve, reject) => {
        if (state === "closed") return reject(disconnected(undefined));
        pending.set(id, { resolve, reject, cleanup: undefined, item: undefined });
        transmit(id, { type: "call", id, method, params });
      });
    }
    const onItem = options.onItem;
    const binary = onItem === undefined && (options.binary === true || looksBinary(params));
    return guardedCall(id, method, params, options.timeout, options.signal, onItem, binary);
  }

  function guardedCall(
    id: number,
    method: string,
    params: unknown,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
    onItem: ((item: unknown) => void) | undefined,
    binary: boolean,
  ): Promise<unknown> {
    return new PromiseIntrinsic((resolve, reject) => {
      if (signal !== undefined && isAborted(signal)) return reject(abortError());
      if (state === "closed") return reject(disconnected(undefined));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = (error: InvokeError): void => {
        // A channel call's reply (and items) are still owed after a cancel: remembered, so
        // they are dropped quietly. So is a binary call's: its request is answered anyway.
        if (onItem !== undefined || binary) abandon(id, error);
        else if (drop(id, error)) cancel(id);
      };
      const aborted = (): void => stop(abortError());
      const cleanup = (): void => {
        if (timer !== undefined) clearTimer(timer);
        if (signal !== undefined) offAbort(signal, aborted);
      };
      pending.set(id, { resolve, reject, cleanup, item: onItem === undefined ? undefined : channel(id, method, onItem) });
      if (timeout !== undefined) timer = setTimer(() => stop(timeoutError(timeout)), timeout);
      if (signal !== undefined) onAbort(signal, aborted);
      if (binary) transmitBinary(id, method, params);
      else transmit(id, { type: "call", id, method, params });
    });
  }

  /** The taker of call `id`'s items that hands each to `onItem` as it arrives: consumed once
   * `onItem` returned, acknowledged once per batch. */
  function channel(id: CallId, method: string, onItem: (item: unknown) => void): (seq: unknown, item: unknown) => void {
    let last = 0;
    let acked = 0;
    let queued = false;
    const flush = (): void => {
      queued = false;
      if (last > acked && pending.get(id) !== undefined) {
        acked = last;
        acknowledge(id, last);
      }
    };
    return (seq, value) => {
      if (seq !== last + 1) return abandon(id, gap(id, method, seq, last));
      last += 1;
      try {
        onItem(value);
      } catch (err) {
        // As a throwing listener: logged, and the call goes on.
        console.error(`auroraview: onItem of "${method}" threw`, err);
      }
      if (!queued) {
        queued = true;
        afterBatch.push(flush);
      }
    };
  }

  function stream(method: string, params?: unknown, options?: StreamOptions): ItemStream<unknown> {
    const timeout = options === undefined ? undefined : options.timeout;
    const signal = options === undefined ? undefined : options.signal;
    return freeze({ [asyncIteratorSymbol]: (): AsyncIterator<unknown> => iterate(method, params, timeout, signal) });
  }

  /** One iteration of a stream: its own call, started now. */
  function iterate(method: string, params: unknown, timeout: number | undefined, signal: AbortSignal | undefined): AsyncIterator<unknown> {
    /** Items received and not yet taken by `next()`. */
    const items = new Queue<unknown>();
    /** `next()`s waiting for an item (only while `items` is empty). */
    const waiters = new Queue<Waiter>();
    let id: CallId = 0;
    /** The call is in flight: in `pending`, acknowledged, cancelled by `return()`. */
    let running = false;
    /** The consumer has seen the end (done, or the error thrown): nothing happens any more. */
    let finished = false;
    /** Thrown by `next()` once `items` is empty. */
    let error: Error | undefined;
    /** Seqs of the last item received, taken by the consumer, acknowledged. */
    let last = 0;
    let consumed = 0;
    let acked = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const release = (): void => {
      finished = true;
      items.clear();
      if (timer !== undefined) clearTimer(timer);
      timer = undefined;
      if (signal !== undefined) offAbort(signal, aborted);
    };
    /** Tell the waiting `next()`s the end: the first gets the error, if any. */
    const end = (): void => {
      const err = error;
      error = undefined;
      release();
      let waiter = waiters.shift();
      if (waiter !== undefined && err !== undefined) {
        waiter.reject(err);
        waiter = waiters.shift();
      }
      for (; waiter !== undefined; waiter = waiters.shift()) fulfil(waiter, { done: true, value: undefined });
    };
    /** The host ended the call (its reply, a lost connection): what is buffered is still read. */
    const ended = (err: Error | undefined): void => {
      running = false;
      error = err;
      if (waiters.size !== 0) end();
    };
    /** Give the call up on the host. */
    const withdraw = (): void => {
      if (!running) return;
      running = false;
      pending.delete(id);
      cancel(id);
      remember(id);
    };
    /** Abort or timeout: thrown at once, what is buffered is dropped. */
    const stop = (err: Error): void => {
      if (finished) return;
      withdraw();
      items.clear();
      error = err;
      if (waiters.size !== 0) end();
    };
    const aborted = (): void => stop(abortError());
    const acknowledged = (): void => {
      acked = consumed;
      acknowledge(id, consumed);
    };
    const take = (seq: unknown, value: unknown): void => {
      if (seq !== last + 1) {
        const err = gap(id, method, seq, last);
        withdraw();
        return ended(err);
      }
      last += 1;
      const waiter = waiters.shift();
      if (waiter === undefined) return items.push(value);
      consumed = last;
      if (consumed - acked >= ACK_EVERY) acknowledged();
      fulfil(waiter, { done: false, value });
    };

    const next = (): Promise<IteratorResult<unknown>> => {
      if (finished) return settled({ done: true, value: undefined });
      if (items.size !== 0) {
        const value = items.shift();
        consumed += 1;
        if (running && consumed - acked >= ACK_EVERY) acknowledged();
        return settled({ done: false, value });
      }
      if (running) {
        if (consumed > acked) {
          // Waiting with nothing held: acknowledge what was consumed, so any window moves.
          acknowledged();
          // A transport that delivered (or failed) inside that send: look again.
          if (items.size !== 0 || !running) return next();
        }
        return new PromiseIntrinsic((resolve, reject) => waiters.push({ resolve, reject }));
      }
      const err = error;
      error = undefined;
      release();
      return err === undefined ? settled({ done: true, value: undefined }) : failed(err);
    };
    /** `break` out of the loop: the call is cancelled, the loop just ends. */
    const stopIteration = (): Promise<IteratorResult<unknown>> => {
      if (!finished) {
        withdraw();
        error = undefined;
        end();
      }
      return settled({ done: true, value: undefined });
    };

    if (signal !== undefined && isAborted(signal)) {
      error = abortError();
    } else if (state === "closed") {
      error = disconnected(undefined);
    } else {
      id = nextId++;
      running = true;
      pending.set(id, { resolve: () => ended(undefined), reject: ended, cleanup: undefined, item: take });
      if (timeout !== undefined) {
        timer = setTimer(() => {
          timer = undefined;
          stop(failure("TimeoutError", "timeout", `the stream did not end within ${timeout} ms`));
        }, timeout);
      }
      if (signal !== undefined) onAbort(signal, aborted);
      transmit(id, { type: "call", id, method, params });
    }
    const iterator: AsyncIterator<unknown> & AsyncIterable<unknown> = freeze({
      next,
      return: stopIteration,
      [asyncIteratorSymbol]: () => iterator,
    });
    return iterator;
  }

  /** A call whose reply goes to `onResult`/`onError` synchronously, as it is received (the
   * topics': a subscription's answer is taken in before the publications after it). */
  function request(method: string, params: unknown, onResult: (value: unknown) => void, onError: (error: Error) => void): void {
    if (state === "closed") return onError(disconnected(undefined));
    const id = nextId++;
    pending.set(id, { resolve: onResult, reject: onError, cleanup: undefined, item: undefined });
    transmit(id, { type: "call", id, method, params });
  }

  const topics = createTopics({ request, state: () => state });

  function publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult> {
    const callOptions: CallOptions | undefined =
      options === undefined ? undefined : { timeout: options.timeout, signal: options.signal };
    return call(PUBLISH_METHOD, { topic, data }, callOptions) as Promise<PublishResult>;
  }

  function send_event(event: string, detail?: unknown): void {
    // No promise to reject: a message that cannot leave throws to the sender.
    if (state === "closed") throw disconnected(undefined);
    try {
      transport.send({ type: "event", event, detail });
    } catch (err) {
      throw disconnected(err);
    }
  }

  function on(event: string, handler: Listener): Unsubscribe {
    const list = listeners.get(event);
    let known = false;
    if (list !== undefined) for (let i = 0; i < list.length; i++) known = known || list[i] === handler;
    if (!known) listeners.set(event, appended(list, handler)); // once per event, as in a Set
    return () => off(event, handler);
  }

  function off(event: string, handler?: Listener): void {
    const list = listeners.get(event);
    if (list === undefined) return;
    const rest = handler === undefined ? undefined : without(list, handler);
    if (rest === undefined) listeners.delete(event);
    else listeners.set(event, rest);
  }

  function once(event: string, handler: Listener): Unsubscribe {
    const unsubscribe = on(event, (payload) => {
      unsubscribe();
      handler(payload);
    });
    return unsubscribe;
  }

  function trigger(_event: string, _payload?: unknown): void {
    throw new Error(
      "auroraview: trigger is how the host delivers events and replies to this page, and only the host may " +
        "(a page script cannot settle calls or fake events). To reach Python use send_event(event, detail) or call(); " +
        "to notify this page's own code, call it directly.",
    );
  }

  function stats(): ClientStats {
    return {
      pending: pending.size,
      unmatched: unmatched + topics.strays(),
      refused: transport.refused === undefined ? 0 : transport.refused(),
      duplicates: topics.duplicates(),
    };
  }

  const namespaces = privateMap<string, Namespace>();
  function namespace(name: string): Namespace {
    let ns = namespaces.get(name);
    if (ns === undefined) {
      const prefix = name + ".";
      ns = new ProxyIntrinsic(freeze(create(null)) as Namespace, {
        get: (_target, method) =>
          typeof method !== "string" || method === "then"
            ? undefined
            : (params?: unknown, opts?: CallOptions) => call(prefix + method, params, opts),
      });
      namespaces.set(name, ns);
    }
    return ns;
  }

  // Unknown properties resolve through this prototype: a Proxy answering with a namespace.
  // Own properties (call, on, ...) never reach it, so the hot path stays a plain lookup.
  // `then` stays undefined (the client is not a thenable), and Object.prototype's members
  // keep working (`String(client)`).
  const unknownProperties = new ProxyIntrinsic(freeze(create(null)) as object, {
    get: (_target, name, receiver) => {
      if (name === "then") return undefined;
      if (typeof name !== "string" || name in ObjectPrototype) return reflectGet(ObjectPrototype, name, receiver);
      return namespace(name);
    },
  });

  const client: AuroraViewClient = create(unknownProperties, {
    call: { value: call, enumerable: true },
    stream: { value: stream, enumerable: true },
    send_event: { value: send_event, enumerable: true },
    subscribe: { value: topics.subscribe, enumerable: true },
    publish: { value: publish, enumerable: true },
    on: { value: on, enumerable: true },
    once: { value: once, enumerable: true },
    off: { value: off, enumerable: true },
    trigger: { value: trigger, enumerable: true },
    stats: { value: stats, enumerable: true },
    ready: { value: ready, enumerable: true },
    state: { get: () => state, enumerable: true },
    api: { value: namespace("api"), enumerable: true },
  });
  freeze(client);

  transport.attach({ receive, setState, receiveBinary });
  if (state === "open") opened();
  else if (state === "closed") neverOpened(disconnected(undefined));
  return client;
}

/** A frozen copy of `client` with `extras` added (the bridge's `__bridge`, the mock's `emit`):
 * same closures, same namespaces, same live `state`. */
export function extendClient<C extends AuroraViewClient, E extends object>(client: C, extras: E): C & E {
  const proto = getPrototypeOf(client) as object | null;
  const descriptors = { ...getOwnPropertyDescriptors(client), ...getOwnPropertyDescriptors(extras) };
  return freeze(create(proto, descriptors) as C & E);
}
