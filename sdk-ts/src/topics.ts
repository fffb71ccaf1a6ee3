// Owns the client's side of topics (docs/topics.md): local subscribers sharing one wire
// subscription per topic, each topic's position (epoch, last offset delivered), duplicates
// dropped, gaps reported, and resubscription with `since` after a reconnection.
//
// The client (client.ts) owns the calls; this module makes its requests through `request`,
// whose callbacks run synchronously when the reply is received, so a subscribe's answer is
// taken in before the publications that follow it in the same batch. State lives in
// `privateMap`s, frozen arrays and prototype-less records (intrinsics.ts): a page script that
// replaces builtins later never sees a handler or a payload.
//
// A topic's wire subscription is in one of four states:
//
// - `idle`: not on this connection (a reconnection is under way): sent again once `open`;
// - `subscribing`: `auroraview.subscribe` sent, its answer awaited;
// - `live`: the host sends its publications;
// - `leaving`: `auroraview.unsubscribe` sent because the last local subscriber left; a new
//   subscriber arriving meanwhile makes it subscribe afresh once that answer is in (the host
//   may not run the two in the order sent).

import { InvokeError } from "./errors.js";
import { appended, create, freeze, getOwnPropertyDescriptor, objectKeys, PromiseIntrinsic, privateMap, without } from "./intrinsics.js";
import type { HostMessage } from "./protocol.gen.js";
import type { TransportState } from "./transport.js";

/** Where a publication sits in its topic: what a handler gets besides the data. */
export interface Publication {
  readonly topic: string;
  /** The history the offset belongs to (a new one after the host restarted). */
  readonly epoch: string;
  /** The message's number in its topic, from 1, without gaps. */
  readonly offset: number;
}

/** Receives a topic's messages, in publish order, each exactly once. */
export type TopicHandler<T = unknown> = (data: T, publication: Publication) => void;

/**
 * What `onRecovery` is told. After every resubscription (a reconnection): `recovered: true`
 * when the host bridged the gap (the messages missed follow, in order), `recovered: false`
 * with a `reason` when it could not (the host restarted, history no longer reaches back): the
 * subscriber should reload its state; only newer messages follow. Also `recovered: false`
 * when a publication skips offsets (`reason` says which), before that publication.
 */
export interface RecoveryInfo {
  readonly topic: string;
  readonly recovered: boolean;
  readonly reason?: string;
  /** The position from which messages follow: the next one has a greater offset. */
  readonly epoch: string;
  readonly offset: number;
}

/** The answer to a subscription: the topic's position when it took effect (messages with a
 * greater offset follow). A resubscription's answer also says whether the gap was bridged. */
export interface SubscribeResult {
  readonly epoch: string;
  readonly offset: number;
  readonly recovered?: boolean;
  readonly reason?: string;
}

/** Options of one `subscribe`. */
export interface SubscribeOptions {
  /** Told of every resubscription's outcome and of any gap (see `RecoveryInfo`), always
   * before the messages that follow it. Without it a lost gap is logged (console.warn). */
  onRecovery?: (info: RecoveryInfo) => void;
  /** The subscription ended after `ready` resolved: its resubscription was refused (a rule
   * now forbids it), or the connection closed for good. Without it the error is logged. */
  onError?: (error: Error) => void;
}

/** One local subscriber of a topic. */
export interface Subscription {
  readonly topic: string;
  /** Resolves once the host confirmed the subscription (messages follow); rejects with the
   * host's `InvokeError` (`forbidden`, `unknown_topic`, `invalid_params`) or `disconnected`,
   * and then the handler is never called. */
  readonly ready: Promise<SubscribeResult>;
  /** Stop: the handler is not called again. The wire subscription ends with the last local
   * subscriber of the topic; the promise resolves once the host confirmed that. */
  unsubscribe(): Promise<void>;
}

/** The answer to a publish: the offset the message got. */
export interface PublishResult {
  readonly epoch: string;
  readonly offset: number;
}

/** The reserved methods (docs/topics.md, "The wire"). */
export const SUBSCRIBE_METHOD = "auroraview.subscribe";
export const UNSUBSCRIBE_METHOD = "auroraview.unsubscribe";
export const PUBLISH_METHOD = "auroraview.publish";

type PublicationFrame = Extract<HostMessage, { type: "publication" }>;

/** What the topics need from the client. */
export interface TopicHost {
  /** Send call `method`; exactly one of the callbacks runs, synchronously when the reply is
   * received (or at once when the call cannot leave: code `disconnected`). */
  request(method: string, params: unknown, onResult: (value: unknown) => void, onError: (error: Error) => void): void;
  /** The transport's state now. */
  state(): TransportState;
}

/** The client's topics: what `createClient` wires in. */
export interface Topics {
  subscribe(topic: string, handler: TopicHandler, options?: SubscribeOptions): Subscription;
  publication(frame: PublicationFrame): void;
  /** The connection left `open` (reconnecting, or `closed` for good). */
  lost(closed: boolean, error: Error): void;
  /** The connection is `open` (again): subscriptions it does not have are sent. */
  opened(): void;
  /** Publications dropped as delivered already; publications for no subscription of ours. */
  duplicates(): number;
  strays(): number;
}

interface Subscriber {
  readonly handler: TopicHandler;
  readonly onRecovery: ((info: RecoveryInfo) => void) | undefined;
  readonly onError: ((error: Error) => void) | undefined;
  active: boolean;
  /** Settles `ready`; undefined once it has. */
  resolve: ((result: SubscribeResult) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

type Wire = "idle" | "subscribing" | "live" | "leaving";

interface TopicState {
  readonly name: string;
  subscribers: readonly Subscriber[];
  wire: Wire;
  /** The position delivered to the application; `epoch` undefined before the first answer. */
  epoch: string | undefined;
  last: number;
  /** Resolvers of `unsubscribe()` promises waiting for the host's answer. */
  leaving: readonly (() => void)[];
}

function failure(name: string, code: string, message: string): InvokeError {
  return new InvokeError({ name, code, message, data: null });
}

function isOffset(value: unknown): value is number {
  return typeof value === "number" && value >= 0 && value % 1 === 0;
}

/** A prototype-less frozen record of `fields`' own members that are defined (nothing a page
 * put on `Object.prototype` is read or inherited). */
function record<T extends object>(fields: T): T {
  const out = create(null) as Record<string, unknown>;
  const keys = objectKeys(fields);
  for (let i = 0; i < keys.length; i++) {
    const value = (fields as Record<string, unknown>)[keys[i]];
    if (value !== undefined) out[keys[i]] = value;
  }
  return freeze(out) as T;
}

export function createTopics(host: TopicHost): Topics {
  const topics = privateMap<string, TopicState>();
  let duplicates = 0;
  let strays = 0;

  function subscribe(topic: string, handler: TopicHandler, options?: SubscribeOptions): Subscription {
    if (typeof topic !== "string") throw new TypeError("auroraview: subscribe(topic, handler): the topic is a string such as \"scene/updates\"");
    if (typeof handler !== "function") throw new TypeError(`auroraview: subscribe("${topic}", handler): the handler is a function`);
    const subscriber: Subscriber = create(null) as Subscriber;
    subscriber.active = true;
    (subscriber as { handler: TopicHandler }).handler = handler;
    (subscriber as { onRecovery: unknown }).onRecovery = options?.onRecovery;
    (subscriber as { onError: unknown }).onError = options?.onError;
    const ready = new PromiseIntrinsic<SubscribeResult>((resolve, reject) => {
      subscriber.resolve = resolve;
      subscriber.reject = reject;
    });
    ready.catch(() => {}); // not awaiting `ready` is no unhandled rejection: the handler just never runs
    let state = topics.get(topic);
    if (state === undefined) {
      state = create(null) as TopicState;
      (state as { name: string }).name = topic;
      state.subscribers = appended(undefined, subscriber);
      state.wire = "idle";
      state.epoch = undefined;
      state.last = 0;
      state.leaving = freeze([]);
      topics.set(topic, state);
      if (host.state() === "closed") fail(state, failure("Disconnected", "disconnected", "the connection to the host is gone"));
      else send(state);
    } else {
      state.subscribers = appended(state.subscribers, subscriber);
      // Receiving all along: this subscriber starts from the current position.
      if (state.wire === "live" && state.epoch !== undefined) settle(subscriber, record({ epoch: state.epoch, offset: state.last }));
    }
    const name = topic;
    return freeze({ topic: name, ready, unsubscribe: () => unsubscribe(name, subscriber) }) as Subscription;
  }

  function settle(subscriber: Subscriber, result: SubscribeResult): void {
    const resolve = subscriber.resolve;
    subscriber.resolve = subscriber.reject = undefined;
    if (resolve !== undefined) resolve(result);
  }

  /** Subscribe `state` on the wire: with `since` when it has a position (a resubscription). */
  function send(state: TopicState): void {
    state.wire = "subscribing";
    const since = state.epoch;
    const params = since === undefined ? { topic: state.name } : { topic: state.name, since: { epoch: since, offset: state.last } };
    host.request(SUBSCRIBE_METHOD, params, (value) => answered(state, value, since !== undefined), (error) => refused(state, error));
  }

  function answered(state: TopicState, value: unknown, resubscribed: boolean): void {
    if (topics.get(state.name) !== state || state.wire !== "subscribing") return;
    const answer = value as { epoch?: unknown; offset?: unknown; recovered?: unknown; reason?: unknown } | null;
    if (answer === null || typeof answer !== "object" || typeof answer.epoch !== "string" || !isOffset(answer.offset)) {
      return refused(state, failure("Error", "internal", `malformed answer to the subscription of topic "${state.name}": no epoch and offset`));
    }
    const epoch = answer.epoch;
    const offset = answer.offset;
    if (state.subscribers.length === 0) {
      leave(state); // everyone left while it was on its way
      return;
    }
    state.wire = "live";
    if (!resubscribed || state.epoch === undefined) {
      state.epoch = epoch;
      state.last = offset;
      const result = record({ epoch, offset });
      const list = state.subscribers;
      for (let i = 0; i < list.length; i++) settle(list[i], result);
      return;
    }
    // A resubscription: did the host bridge the gap since our position?
    // Own members only: a `recovered` a page put on `Object.prototype` must not count.
    const said = getOwnPropertyDescriptor(answer, "recovered");
    const told = getOwnPropertyDescriptor(answer, "reason");
    const recovered = said !== undefined && said.value === true && epoch === state.epoch && offset >= state.last;
    let reason: string | undefined;
    if (!recovered) {
      reason =
        told !== undefined && typeof told.value === "string" ? (told.value as string)
        : epoch !== state.epoch ? `the topic's epoch changed (${state.epoch} → ${epoch}): the host restarted`
        : `the host did not recover the messages after offset ${state.last}`;
      state.epoch = epoch;
      state.last = offset;
    }
    // One that joined while this answer was on its way starts where delivery is (the replay
    // that follows is newer than that), not at the host's offset.
    const result = record({ epoch: state.epoch, offset: state.last, recovered, reason });
    const info = record({ topic: state.name, recovered, reason, epoch: state.epoch, offset: state.last });
    const list = state.subscribers;
    for (let i = 0; i < list.length; i++) {
      const subscriber = list[i];
      if (subscriber.resolve !== undefined) settle(subscriber, result); // joined meanwhile
      else tell(subscriber, info);
    }
  }

  function refused(state: TopicState, error: Error): void {
    if (topics.get(state.name) !== state || state.wire !== "subscribing") return;
    if ((error as { code?: unknown }).code === "disconnected" && host.state() !== "closed") {
      // Reconnecting: the host forgot it; sent again once the connection is open.
      state.wire = "idle";
      if (state.subscribers.length === 0) {
        topics.delete(state.name);
        finishLeaving(state);
      }
      return;
    }
    fail(state, error);
  }

  /** The topic's subscription is over with `error`: waiting subscribers' `ready` rejects,
   * others are told through `onError`. */
  function fail(state: TopicState, error: Error): void {
    if (topics.get(state.name) === state) topics.delete(state.name);
    const list = state.subscribers;
    state.subscribers = freeze([]);
    for (let i = 0; i < list.length; i++) {
      const subscriber = list[i];
      subscriber.active = false;
      const reject = subscriber.reject;
      subscriber.resolve = subscriber.reject = undefined;
      if (reject !== undefined) {
        reject(error);
      } else if (subscriber.onError !== undefined) {
        try {
          subscriber.onError(error);
        } catch (err) {
          console.error(`auroraview: onError of topic "${state.name}" threw`, err);
        }
      } else {
        console.error(`auroraview: the subscription to topic "${state.name}" ended`, error);
      }
    }
    finishLeaving(state);
  }

  function unsubscribe(name: string, subscriber: Subscriber): Promise<void> {
    return new PromiseIntrinsic<void>((resolve) => {
      const state = topics.get(name);
      if (!subscriber.active || state === undefined) return resolve();
      subscriber.active = false;
      const rest = without(state.subscribers, subscriber);
      state.subscribers = rest === undefined ? freeze([]) : rest;
      const reject = subscriber.reject;
      subscriber.resolve = subscriber.reject = undefined;
      if (reject !== undefined) reject(failure("AbortError", "cancelled", `unsubscribed from topic "${name}" before the subscription took effect`));
      if (rest !== undefined) return resolve();
      switch (state.wire) {
        case "idle":
          topics.delete(name); // nothing on the wire
          return resolve();
        case "live":
          state.leaving = appended(state.leaving, resolve);
          return leave(state);
        default:
          // `subscribing`: unsubscribed once the answer is in; `leaving` already.
          state.leaving = appended(state.leaving, resolve);
      }
    });
  }

  function leave(state: TopicState): void {
    state.wire = "leaving";
    const done = (): void => left(state);
    host.request(UNSUBSCRIBE_METHOD, { topic: state.name }, done, done);
  }

  /** The host answered the unsubscribe (or forgot it with the connection). */
  function left(state: TopicState): void {
    if (topics.get(state.name) !== state || state.wire !== "leaving") return;
    finishLeaving(state);
    if (state.subscribers.length === 0) {
      topics.delete(state.name);
      return;
    }
    // Someone subscribed meanwhile: a fresh subscription (the old position means nothing now).
    state.epoch = undefined;
    state.last = 0;
    if (host.state() === "open" || host.state() === "connecting") send(state);
  }

  function finishLeaving(state: TopicState): void {
    const waiting = state.leaving;
    state.leaving = freeze([]);
    for (let i = 0; i < waiting.length; i++) waiting[i]();
  }

  function tell(subscriber: Subscriber, info: RecoveryInfo): void {
    if (!subscriber.active) return;
    if (subscriber.onRecovery === undefined) {
      if (!info.recovered) console.warn(`auroraview: topic "${info.topic}": messages were lost (${info.reason ?? "no reason given"}); pass onRecovery to handle it`);
      return;
    }
    try {
      subscriber.onRecovery(info);
    } catch (err) {
      console.error(`auroraview: onRecovery of topic "${info.topic}" threw`, err);
    }
  }

  function publication(frame: PublicationFrame): void {
    const name = frame.topic;
    const state = typeof name === "string" ? topics.get(name) : undefined;
    if (state === undefined || state.epoch === undefined || typeof frame.epoch !== "string" || !isOffset(frame.offset)) {
      strays += 1; // not subscribed (any more), or not before the subscription's answer
      return;
    }
    if (state.wire === "leaving" || state.subscribers.length === 0) return; // on its way out: expected
    const epoch = frame.epoch;
    const offset = frame.offset;
    let gap: string | undefined;
    if (epoch !== state.epoch) {
      gap = `the topic's epoch changed (${state.epoch} → ${epoch}) without a resubscription`;
    } else if (offset <= state.last) {
      duplicates += 1;
      return;
    } else if (offset > state.last + 1) {
      gap = offset === state.last + 2 ? `offset ${state.last + 1} never arrived` : `offsets ${state.last + 1} to ${offset - 1} never arrived`;
    }
    state.epoch = epoch;
    state.last = offset;
    const meta = record({ topic: name, epoch, offset });
    // Told before the publication: messages follow from just before it.
    const info = gap === undefined ? undefined : record({ topic: name, recovered: false, reason: gap, epoch, offset: offset - 1 });
    const list = state.subscribers; // frozen: a handler that subscribes or leaves changes the next delivery
    for (let i = 0; i < list.length; i++) {
      const subscriber = list[i];
      if (!subscriber.active || subscriber.resolve !== undefined) continue;
      if (info !== undefined) tell(subscriber, info);
      if (!subscriber.active) continue;
      try {
        subscriber.handler(frame.data, meta);
      } catch (err) {
        console.error(`auroraview: handler of topic "${name}" threw`, err);
      }
    }
  }

  function lost(closed: boolean, error: Error): void {
    topics.forEach((state) => {
      if (closed) {
        fail(state, error);
      } else if (state.wire === "live") {
        state.wire = "idle"; // a `subscribing` or `leaving` one hears of it through its request
      }
    });
  }

  function opened(): void {
    topics.forEach((state) => {
      if (state.wire === "idle") send(state);
    });
  }

  return { subscribe, publication, lost, opened, duplicates: () => duplicates, strays: () => strays };
}
