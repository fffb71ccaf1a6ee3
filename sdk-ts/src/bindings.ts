// Owns the runtime of generated bindings: each wrapper in a `*.gen.ts` file is one call to
// these helpers, so the logic is here, type-checked once, and the generated file holds only
// declarations. Every wrapper looks the backend up when it runs (`getAuroraView()`), so a
// test may install a mock after importing the bindings.

import type { AuroraView, CallOptions, ItemStream, PublishOptions, StreamOptions, Unsubscribe } from "./client.js";
import { getAuroraView } from "./index.js";
import type { PublishResult, SubscribeOptions, Subscription, TopicHandler } from "./topics.js";

/** A command whose params are required: `(params, options?) => Promise<Result>`. */
export function commandWithParams<P, R>(method: string): (params: P, options?: CallOptions) => Promise<R> {
  return (params, options) => getAuroraView().call(method, params, options) as Promise<R>;
}

/** A command whose params may all be left out. */
export function commandWithOptionalParams<P, R>(method: string): (params?: P, options?: CallOptions) => Promise<R> {
  return (params, options) => getAuroraView().call(method, params, options) as Promise<R>;
}

/** A command that takes no params. */
export function commandWithoutParams<R>(method: string): (options?: CallOptions) => Promise<R> {
  return (options) => getAuroraView().call(method, undefined, options) as Promise<R>;
}

/** `options` with `binary: true`: a binary command's calls always take the raw way, however
 * deep its bytes sit (the client looks only so deep on its own). */
function binaryOptions(options: CallOptions | undefined): CallOptions {
  return options === undefined ? BINARY : { ...options, binary: true };
}

const BINARY: CallOptions = Object.freeze({ binary: true });

/** A binary command (docs/binary.md: `bytes` in its params or result, `Uint8Array` here)
 * whose params are required. Its call and reply carry the bytes raw, never as base64. */
export function binaryCommandWithParams<P, R>(method: string): (params: P, options?: CallOptions) => Promise<R> {
  return (params, options) => getAuroraView().call(method, params, binaryOptions(options)) as Promise<R>;
}

/** A binary command whose params may all be left out. */
export function binaryCommandWithOptionalParams<P, R>(method: string): (params?: P, options?: CallOptions) => Promise<R> {
  return (params, options) => getAuroraView().call(method, params, binaryOptions(options)) as Promise<R>;
}

/** A binary command that takes no params (its result holds bytes). */
export function binaryCommandWithoutParams<R>(method: string): (options?: CallOptions) => Promise<R> {
  return (options) => getAuroraView().call(method, undefined, binaryOptions(options)) as Promise<R>;
}

/** `stream` of the active backend (a bridge injected by an older auroraview has none). */
function openStream<I>(method: string, params: unknown, options: StreamOptions | undefined): ItemStream<I> {
  const backend = getAuroraView();
  if (typeof backend.stream !== "function") {
    throw new TypeError("this auroraview backend has no stream(): the page's SDK is newer than the window's bridge (update auroraview)");
  }
  return backend.stream(method, params, options) as ItemStream<I>;
}

/** A stream command whose params are required: `(params, options?) => ItemStream<Item>`.
 * Nothing is sent until a `for await` starts; each `for await` makes its own call. */
export function streamWithParams<P, I>(method: string): (params: P, options?: StreamOptions) => ItemStream<I> {
  return (params, options) => openStream(method, params, options);
}

/** A stream command whose params may all be left out. */
export function streamWithOptionalParams<P, I>(method: string): (params?: P, options?: StreamOptions) => ItemStream<I> {
  return (params, options) => openStream(method, params, options);
}

/** A stream command that takes no params. */
export function streamWithoutParams<I>(method: string): (options?: StreamOptions) => ItemStream<I> {
  return (options) => openStream(method, undefined, options);
}

/**
 * A command with a channel: member `param` of its params is a callback `(item) => void`,
 * called with every item (in order) before the promise settles. The wrapper takes it out of
 * the params it sends and passes it as `onItem`; without one the items are still
 * acknowledged (and dropped), so the command is never held at its window.
 */
export function commandWithChannel<P, R>(method: string, param: string): (params: P, options?: CallOptions) => Promise<R> {
  return (params, options) => {
    let sent: unknown = params;
    let onItem: (item: unknown) => void = ignore;
    if (typeof params === "object" && params !== null) {
      const { [param]: callback, ...rest } = params as Record<string, unknown>;
      sent = rest;
      if (typeof callback === "function") onItem = callback as (item: unknown) => void;
    }
    return getAuroraView().call(method, sent, { ...options, onItem }) as Promise<R>;
  };
}

function ignore(): void {}

/** An event Python pushes to the page, with its payload type. */
export interface PageEvent<T> {
  /** The event's wire name (`selection_changed`): what `mock.emit(event, payload)` sends. */
  readonly name: string;
  /** Call `handler` with every payload; returns the function that stops it. */
  on(handler: (payload: T) => void): Unsubscribe;
  /** Call `handler` with the next payload only. */
  once(handler: (payload: T) => void): Unsubscribe;
  /** Remove `handler`, or every handler of the event when none is given. */
  off(handler?: (payload: T) => void): void;
}

/** An event the page sends to Python's `on(...)` handlers. */
export interface HostEvent<T> {
  /** The event's wire name (`select`): what `mock.sentOf(event)` looks for. */
  readonly name: string;
  send(payload: T): void;
}

type Untyped = (payload: unknown) => void;

/** The typed `on`/`once`/`off` of a Python → page event. */
export function pageEvent<T>(event: string): PageEvent<T> {
  return Object.freeze({
    name: event,
    on: (handler: (payload: T) => void): Unsubscribe => getAuroraView().on(event, handler as Untyped),
    once: (handler: (payload: T) => void): Unsubscribe => getAuroraView().once(event, handler as Untyped),
    off: (handler?: (payload: T) => void): void => getAuroraView().off(event, handler as Untyped | undefined),
  });
}

/** The typed `send` of a page → Python event. */
export function hostEvent<T>(event: string): HostEvent<T> {
  return Object.freeze({ name: event, send: (payload: T): void => getAuroraView().send_event(event, payload) });
}

/** A topic clients may subscribe to (docs/topics.md), with its payload type. */
export interface SubscribableTopic<T> {
  /** The topic's wire name (`scene/updates`). */
  readonly name: string;
  /** `client.subscribe(name, handler, options)`, typed: see `Subscription`. */
  subscribe(handler: TopicHandler<T>, options?: SubscribeOptions): Subscription;
}

/** A topic clients may publish to, with the type a publish must have (its input shape). */
export interface PublishableTopic<I> {
  readonly name: string;
  /** `client.publish(name, data, options)`, typed: resolves with the offset it got. */
  publish(data: I, options?: PublishOptions): Promise<PublishResult>;
}

/** The active backend, which must know topics (a bridge injected by an older auroraview does not). */
function topicBackend(what: "subscribe" | "publish"): Required<Pick<AuroraView, "subscribe" | "publish">> {
  const backend = getAuroraView();
  if (typeof backend[what] !== "function") {
    throw new TypeError(`this auroraview backend has no ${what}(): the page's SDK is newer than the window's bridge (update auroraview)`);
  }
  return backend as Required<Pick<AuroraView, "subscribe" | "publish">>;
}

function subscriber<T>(topic: string): SubscribableTopic<T>["subscribe"] {
  return (handler, options) => topicBackend("subscribe").subscribe(topic, handler as TopicHandler, options);
}

function publisher<I>(topic: string): PublishableTopic<I>["publish"] {
  return (data, options) => topicBackend("publish").publish(topic, data, options);
}

/** A topic clients may subscribe to but not publish to (only the app publishes). */
export function subscribeTopic<T>(topic: string): SubscribableTopic<T> {
  return Object.freeze({ name: topic, subscribe: subscriber<T>(topic) });
}

/** A topic clients may publish to but not subscribe to. */
export function publishTopic<I>(topic: string): PublishableTopic<I> {
  return Object.freeze({ name: topic, publish: publisher<I>(topic) });
}

/** A topic clients may both subscribe and publish to: `T` what subscribers receive, `I`
 * what a publish must be (they differ when the payload type has fields with defaults). */
export function pubSubTopic<T, I>(topic: string): SubscribableTopic<T> & PublishableTopic<I> {
  return Object.freeze({ name: topic, subscribe: subscriber<T>(topic), publish: publisher<I>(topic) });
}
