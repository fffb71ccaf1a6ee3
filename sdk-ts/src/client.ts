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

import { InvokeError } from "./errors.js";
import {
  appended,
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
  reflectGet,
  resolveAsData,
  setTimer,
  without,
} from "./intrinsics.js";
import type { CallId, ClientMessage, ErrorCode, HostMessage } from "./protocol.gen.js";
import type { Transport, TransportState } from "./transport.js";

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds before the call is cancelled and rejected with code `timeout`. */
  timeout?: number;
  /** Aborting cancels the call on the host and rejects it with code `cancelled`. */
  signal?: AbortSignal;
}

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
}

/** The page-side API every backend offers (the bridge, a client, a mock). */
export interface AuroraView {
  call(method: string, params?: unknown, options?: CallOptions): Promise<unknown>;
  send_event(event: string, detail?: unknown): void;
  on(event: string, handler: Listener): Unsubscribe;
  once(event: string, handler: Listener): Unsubscribe;
  off(event: string, handler?: Listener): void;
}

/** A client over a transport. Any property it does not define is a namespace too:
 * `client.tools.x(p)` is `client.call("tools.x", p)`. */
export interface AuroraViewClient extends AuroraView {
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
}

type CallResult = Extract<HostMessage, { type: "call_result" }>;

function failure(name: string, code: ErrorCode, message: string): InvokeError {
  return new InvokeError({ name, code, message, data: null });
}

function disconnected(reason: unknown): InvokeError {
  const why = reason instanceof Error ? reason.message : reason === undefined ? "" : String(reason);
  return failure("Disconnected", "disconnected", "the connection to the host is gone" + (why ? ": " + why : ""));
}

/** A client calling the host through `transport` (which it attaches to at once). */
export function createClient(transport: Transport, { onEvent }: ClientOptions = {}): AuroraViewClient {
  const pending = privateMap<CallId, PendingCall>();
  /** Each event's listeners: a frozen array, replaced (not changed) by `on` and `off`. */
  const listeners = privateMap<string, readonly Listener[]>();
  let nextId = 1;
  let unmatched = 0;
  let state = transport.state;

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

  function cancel(id: CallId): void {
    try {
      transport.send({ type: "cancel", id });
    } catch {
      // gone with the connection: nothing left to cancel
    }
  }

  function settle(frame: CallResult): void {
    const entry = pending.get(frame.id);
    if (entry === undefined) {
      unmatched += 1; // cancelled or timed out already, or not ours
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

  function receive(frames: readonly HostMessage[]): void {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      if (frame === null || typeof frame !== "object") continue;
      if (frame.type === "call_result") {
        settle(frame);
      } else if (frame.type === "event" && typeof frame.event === "string") {
        deliver(frame.event, frame.payload);
      }
    }
  }

  function setState(next: TransportState, reason?: string): void {
    const was = state;
    state = next;
    if (next === "open") {
      opened();
      return;
    }
    if (was === "open" || next === "closed") {
      // Deleting the entry being visited is allowed in a Map's forEach.
      pending.forEach((_entry, id) => drop(id, disconnected(reason)));
    }
    if (next === "closed") neverOpened(disconnected(reason)); // no effect once opened
  }

  function call(method: string, params?: unknown, options?: CallOptions): Promise<unknown> {
    const id = nextId++;
    if (options === undefined || (options.timeout === undefined && !options.signal)) {
      // The common case: no timer, no listener, no per-call closures beyond the promise's.
      return new PromiseIntrinsic((resolve, reject) => {
        if (state === "closed") return reject(disconnected(undefined));
        pending.set(id, { resolve, reject, cleanup: undefined });
        transmit(id, { type: "call", id, method, params });
      });
    }
    return guardedCall(id, method, params, options.timeout, options.signal);
  }

  function guardedCall(id: number, method: string, params: unknown, timeout?: number, signal?: AbortSignal): Promise<unknown> {
    return new PromiseIntrinsic((resolve, reject) => {
      if (signal !== undefined && isAborted(signal)) return reject(failure("AbortError", "cancelled", "the call was aborted"));
      if (state === "closed") return reject(disconnected(undefined));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = (error: InvokeError): void => {
        if (drop(id, error)) cancel(id);
      };
      const aborted = (): void => stop(failure("AbortError", "cancelled", "the call was aborted"));
      const cleanup = (): void => {
        if (timer !== undefined) clearTimer(timer);
        if (signal !== undefined) offAbort(signal, aborted);
      };
      pending.set(id, { resolve, reject, cleanup });
      if (timeout !== undefined) {
        timer = setTimer(() => stop(failure("TimeoutError", "timeout", `no reply within ${timeout} ms`)), timeout);
      }
      if (signal !== undefined) onAbort(signal, aborted);
      transmit(id, { type: "call", id, method, params });
    });
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
    return { pending: pending.size, unmatched, refused: transport.refused === undefined ? 0 : transport.refused() };
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
    send_event: { value: send_event, enumerable: true },
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

  transport.attach({ receive, setState });
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
