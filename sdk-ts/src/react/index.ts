// Owns the React integration, `@auroraview/sdk/react`: hooks over the generated bindings
// (docs/react.md). Every hook takes a generated wrapper (`commands.getScene`, `events.x`,
// `topics.y`), never a method name, so the params, results, items and payloads are the
// bindings' types. The wrappers look the backend up when they run (`getAuroraView()`), so a
// test installs a mock with `createAuroraView(mock)` and the same components run against it.
//
// Effects own what they start: a call, a stream, a listener or a subscription started by an
// effect is cancelled (AbortSignal) or removed by that effect's cleanup, so an unmount, a
// change of params, and StrictMode's mount-unmount-mount leave nothing behind, and a reply
// to a superseded run never reaches the state.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { PageEvent, SubscribableTopic } from "../bindings.js";
import type { AuroraView, AuroraViewClient } from "../client.js";
import { getAuroraView } from "../index.js";
import type { NetworkAuroraView } from "../network.js";
import type { Publication, RecoveryInfo, SubscribeResult } from "../topics.js";
import type { TransportState } from "../transport.js";
import type { Connection } from "../transports/websocket.js";

/** A generated command wrapper (or any function whose last parameter is its call options). */
export type AnyCommand = (...args: never[]) => Promise<unknown>;

/** A generated stream wrapper: returns the items as an async iterable. */
export type AnyStream = (...args: never[]) => AsyncIterable<unknown>;

type Same<X, Y> = [X] extends [Y] ? ([Y] extends [X] ? true : false) : false;

/** The arguments of a generated wrapper before its options: `[params]` for a command whose
 * params are required, `[params?]` when they may all be left out, `[]` when it takes none. */
export type ParamsArgs<F> = F extends (...args: infer A) => unknown
  ? Same<A["length"], 0 | 1> extends true
    ? []
    : Same<A["length"], 1 | 2> extends true
      ? [params: A[0]]
      : Same<A["length"], 0 | 1 | 2> extends true
        ? [params?: A[0]]
        : never
  : never;

/** What a command wrapper resolves with. */
export type ResultOf<F> = F extends (...args: never[]) => Promise<infer R> ? R : never;

/** What a stream wrapper yields. */
export type ItemOf<F> = F extends (...args: never[]) => AsyncIterable<infer I> ? I : never;

/** Call `fn` with `args`, then `{ signal }` as its last parameter (the options go after the
 * params, so a wrapper taking params gets `undefined` for ones left out). */
function invoke<T>(fn: (...args: never[]) => T, args: readonly unknown[], signal: AbortSignal): T {
  const all: unknown[] = args.slice();
  while (all.length < fn.length - 1) all.push(undefined);
  all.push({ signal });
  return (fn as unknown as (...a: unknown[]) => T)(...all);
}

/** Params compared by value between renders, so `{ id }` written inline does not re-run. */
function keyOf(args: readonly unknown[]): string {
  try {
    return JSON.stringify(args) ?? "";
  } catch {
    return String(Math.random()); // not JSON (a cycle): every render is new params
  }
}

/** The error a call or stream rejected with: an `InvokeError` from the host (narrow it with
 * `isInvokeError` and the bindings' `DeclaredError`), or another `Error` (no backend). */
function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/** The state of a command run by `useCommand`. */
export interface CommandState<R> {
  /** The last result; kept while a re-run is on its way, undefined before the first. */
  readonly data: R | undefined;
  /** What the last run failed with (cleared when a run starts). */
  readonly error: Error | undefined;
  /** A run is on its way. */
  readonly loading: boolean;
  /** Run again with the same params (a run on its way is cancelled first). */
  rerun(): void;
  /** Cancel the run on its way: it ends with code `cancelled` in `error`. */
  cancel(): void;
}

interface RunState<R> {
  data: R | undefined;
  error: Error | undefined;
  loading: boolean;
}

/**
 * Call `command` with `params` now, and again whenever they change (compared by value):
 * `const scene = useCommand(commands.getScene)`, `useCommand(commands.find, { query })`.
 * The call on its way is cancelled (its `AbortSignal`) on unmount, when the params change
 * and on `rerun()`; the reply of a cancelled run never reaches the state.
 */
export function useCommand<F extends AnyCommand>(command: F, ...params: ParamsArgs<F>): CommandState<ResultOf<F>> {
  const [state, setState] = useState<RunState<ResultOf<F>>>({ data: undefined, error: undefined, loading: true });
  const [runs, setRuns] = useState(0);
  const latest = useRef<readonly unknown[]>(params);
  latest.current = params;
  const cancelRef = useRef<() => void>(noop);
  const key = keyOf(params);
  useEffect(() => {
    const controller = new AbortController();
    let superseded = false;
    setState((s) => (s.loading && s.error === undefined ? s : { data: s.data, error: undefined, loading: true }));
    let reply: Promise<unknown>;
    try {
      reply = invoke(command, latest.current, controller.signal);
    } catch (err) {
      reply = Promise.reject(err);
    }
    reply.then(
      (data) => {
        if (!superseded) setState({ data: data as ResultOf<F>, error: undefined, loading: false });
      },
      (reason: unknown) => {
        if (!superseded) setState((s) => ({ data: s.data, error: asError(reason), loading: false }));
      },
    );
    cancelRef.current = () => controller.abort();
    return () => {
      superseded = true;
      controller.abort();
    };
  }, [command, key, runs]);
  const rerun = useCallback(() => setRuns((n) => n + 1), []);
  const cancel = useCallback(() => cancelRef.current(), []);
  return { ...state, rerun, cancel };
}

/** The state of a command run on demand by `useLazyCommand`. */
export interface LazyCommandState<F extends AnyCommand> {
  /** The last run's result (the latest run started wins), undefined before the first. */
  readonly data: ResultOf<F> | undefined;
  readonly error: Error | undefined;
  /** The latest run is on its way. */
  readonly loading: boolean;
  /** Run the command: resolves with its result or rejects with its error (which is also in
   * `error`: not awaiting it is no unhandled rejection). Earlier runs still on their way go on,
   * but only the latest one's outcome reaches the state. */
  run(...params: ParamsArgs<F>): Promise<ResultOf<F>>;
  /** Cancel every run on its way (code `cancelled`). */
  cancel(): void;
  /** Forget `data` and `error`. */
  reset(): void;
}

/**
 * A command called on demand, as a button's action: `const rename = useLazyCommand(commands.rename)`,
 * then `rename.run({ node_id, new_name })`. Runs still on their way are cancelled on unmount.
 */
export function useLazyCommand<F extends AnyCommand>(command: F): LazyCommandState<F> {
  const [state, setState] = useState<RunState<ResultOf<F>>>({ data: undefined, error: undefined, loading: false });
  const inFlight = useRef(new Set<AbortController>());
  const latestRun = useRef(0);
  const mounted = useRef(false);
  useEffect(() => {
    mounted.current = true;
    const controllers = inFlight.current;
    return () => {
      mounted.current = false;
      for (const controller of controllers) controller.abort();
      controllers.clear();
    };
  }, []);
  const run = useCallback(
    (...params: ParamsArgs<F>): Promise<ResultOf<F>> => {
      const controller = new AbortController();
      const id = ++latestRun.current;
      inFlight.current.add(controller);
      setState((s) => ({ data: s.data, error: undefined, loading: true }));
      let reply: Promise<ResultOf<F>>;
      try {
        reply = invoke(command, params, controller.signal) as Promise<ResultOf<F>>;
      } catch (err) {
        reply = Promise.reject(err);
      }
      const settled = reply.then(
        (data) => {
          inFlight.current.delete(controller);
          if (mounted.current && id === latestRun.current) setState({ data, error: undefined, loading: false });
          return data;
        },
        (reason: unknown) => {
          inFlight.current.delete(controller);
          const error = asError(reason);
          if (mounted.current && id === latestRun.current) setState((s) => ({ data: s.data, error, loading: false }));
          throw error;
        },
      );
      settled.catch(noop); // the error is in the state: an ignored run is no unhandled rejection
      return settled;
    },
    [command],
  );
  const cancel = useCallback(() => {
    for (const controller of inFlight.current) controller.abort();
  }, []);
  const reset = useCallback(() => setState((s) => ({ data: undefined, error: undefined, loading: s.loading })), []);
  return { ...state, run, cancel, reset };
}

/**
 * Call `handler` with every payload of `event` (a generated `events.x` that Python pushes)
 * while the component is mounted. The latest `handler` is called: passing a new function
 * each render does not subscribe again.
 */
export function useEvent<T>(event: PageEvent<T>, handler: (payload: T) => void): void {
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => event.on((payload) => latest.current(payload)), [event]);
}

/** The last payload of `event` received while mounted (undefined before the first). */
export function useLastEvent<T>(event: PageEvent<T>): T | undefined {
  const [last, setLast] = useState<{ payload: T } | undefined>(undefined);
  useEffect(() => event.on((payload) => setLast({ payload })), [event]);
  return last?.payload;
}

/** The connection to the host, as `useConnection` reports it. */
export interface ConnectionStatus {
  /** `connecting` (first connection or a reconnection), `open`, or `closed` for good. In a
   * window it is `open` from the start. */
  readonly state: TransportState;
  /** `state === "open"`: calls reach the host now. */
  readonly ready: boolean;
}

type Observed = Partial<Pick<AuroraViewClient, "ready" | "state">> & Partial<Pick<NetworkAuroraView, "connection">>;

/** A network client's `connection`. Checked by its members' types: on a client every other
 * property is a namespace (`client.connection.on(...)` would call "connection.on"). */
function connectionOf(backend: Observed): Connection | undefined {
  const connection = backend.connection;
  return typeof connection?.state === "string" && typeof connection.on === "function" ? connection : undefined;
}

function stateOf(backend: Observed | undefined): TransportState {
  if (backend === undefined) return "closed";
  const connection = connectionOf(backend);
  if (connection !== undefined) return connection.state;
  return typeof backend.state === "string" ? backend.state : "open"; // a bridge of its own: no state
}

function activeBackend(): AuroraView | undefined {
  try {
    return getAuroraView();
  } catch {
    return undefined; // no backend yet: reported as closed
  }
}

/**
 * The connection state of `backend` (default: the active one, `getAuroraView()`), kept up to
 * date: a network client's reconnections show as `connecting` then `open`.
 */
export function useConnection(backend?: AuroraView): ConnectionStatus {
  const target = (backend ?? activeBackend()) as Observed | undefined;
  const [state, setState] = useState<TransportState>(() => stateOf(target));
  useEffect(() => {
    if (target === undefined) return undefined;
    setState(stateOf(target));
    const connection = connectionOf(target);
    if (connection !== undefined) {
      const update = (): void => setState(connection.state);
      const offConnected = connection.on("connected", update);
      const offDisconnected = connection.on("disconnected", update);
      return () => {
        offConnected();
        offDisconnected();
      };
    }
    let active = true;
    const ready = target.ready;
    if (!(ready instanceof Promise)) return undefined;
    ready.then(
      () => active && setState(stateOf(target)),
      () => active && setState("closed"),
    );
    return () => {
      active = false;
    };
  }, [target]);
  return { state, ready: state === "open" };
}

/** The state of a stream read by `useStream`. */
export interface StreamState<I> {
  /** Every item received so far, in order (a new array when items arrive). */
  readonly items: readonly I[];
  /** The command returned: no more items. */
  readonly done: boolean;
  /** What ended the stream early: an `InvokeError` after the items before it. */
  readonly error: Error | undefined;
  /** Items may still come. */
  readonly streaming: boolean;
  /** Start over: the stream on its way is cancelled and `items` emptied. */
  restart(): void;
  /** Cancel the stream on the host: it ends with code `cancelled` in `error`. */
  cancel(): void;
}

interface StreamProgress {
  done: boolean;
  error: Error | undefined;
  streaming: boolean;
  /** Bumped when items arrive, so a render makes a new `items` array (once per render, not per item). */
  version: number;
}

/**
 * Read stream command `stream` (a generated stream wrapper) with `params`: items accumulate
 * in `items` as they arrive. The stream is cancelled on the host on unmount, when the params
 * change (it then starts over) and on `restart()`.
 */
export function useStream<F extends AnyStream>(stream: F, ...params: ParamsArgs<F>): StreamState<ItemOf<F>> {
  const [progress, setProgress] = useState<StreamProgress>({ done: false, error: undefined, streaming: true, version: 0 });
  const [runs, setRuns] = useState(0);
  const buffer = useRef<ItemOf<F>[]>([]);
  const latest = useRef<readonly unknown[]>(params);
  latest.current = params;
  const cancelRef = useRef<() => void>(noop);
  const key = keyOf(params);
  useEffect(() => {
    const controller = new AbortController();
    let superseded = false;
    const received: ItemOf<F>[] = [];
    buffer.current = received;
    setProgress((p) => ({ done: false, error: undefined, streaming: true, version: p.version + 1 }));
    const read = async (): Promise<void> => {
      for await (const item of invoke(stream, latest.current, controller.signal)) {
        if (superseded) return;
        received.push(item as ItemOf<F>);
        setProgress((p) => ({ ...p, version: p.version + 1 }));
      }
    };
    read().then(
      () => {
        if (!superseded) setProgress((p) => ({ done: true, error: undefined, streaming: false, version: p.version + 1 }));
      },
      (reason: unknown) => {
        if (!superseded) setProgress((p) => ({ done: false, error: asError(reason), streaming: false, version: p.version + 1 }));
      },
    );
    cancelRef.current = () => controller.abort();
    return () => {
      superseded = true;
      controller.abort();
    };
  }, [stream, key, runs]);
  const items = useMemo(() => buffer.current.slice(), [progress.version]);
  const restart = useCallback(() => setRuns((n) => n + 1), []);
  const cancel = useCallback(() => cancelRef.current(), []);
  return { items, done: progress.done, error: progress.error, streaming: progress.streaming, restart, cancel };
}

/** The state of a topic subscription made by `useTopic`. */
export interface TopicState<T> {
  /** The last message received (undefined before the first). */
  readonly last: T | undefined;
  /** Where `last` sits in its topic (epoch and offset). */
  readonly publication: Publication | undefined;
  /** The host confirmed the subscription: its answer (the position messages follow from). */
  readonly subscribed: SubscribeResult | undefined;
  /** The last resubscription's outcome or gap (`recovered: false`: reload your state). */
  readonly recovery: RecoveryInfo | undefined;
  /** The subscription was refused or ended (`forbidden`, `unknown_topic`, `disconnected`). */
  readonly error: Error | undefined;
}

interface TopicProgress<T> {
  last: { data: T; publication: Publication } | undefined;
  subscribed: SubscribeResult | undefined;
  recovery: RecoveryInfo | undefined;
  error: Error | undefined;
}

/** Options of `useTopic`. */
export interface UseTopicOptions<T> {
  /** Called with every message, in order (the latest function given is called). */
  onMessage?: (data: T, publication: Publication) => void;
  /** Called with every resubscription's outcome and every gap, before the messages after it. */
  onRecovery?: (info: RecoveryInfo) => void;
}

/**
 * Subscribe to `topic` (a generated `topics.x` clients may subscribe to) while mounted:
 * the last message, its position and recovery information. Unsubscribed on unmount.
 */
export function useTopic<T>(topic: SubscribableTopic<T>, options?: UseTopicOptions<T>): TopicState<T> {
  const [state, setState] = useState<TopicProgress<T>>({ last: undefined, subscribed: undefined, recovery: undefined, error: undefined });
  const latest = useRef(options);
  useEffect(() => {
    latest.current = options;
  });
  useEffect(() => {
    let active = true;
    setState({ last: undefined, subscribed: undefined, recovery: undefined, error: undefined });
    let unsubscribe: () => void = noop;
    try {
      const subscription = topic.subscribe(
        (data, publication) => {
          if (!active) return;
          latest.current?.onMessage?.(data, publication);
          setState((s) => ({ ...s, last: { data, publication } }));
        },
        {
          onRecovery: (info) => {
            if (!active) return;
            latest.current?.onRecovery?.(info);
            setState((s) => ({ ...s, recovery: info }));
          },
          onError: (error) => {
            if (active) setState((s) => ({ ...s, error }));
          },
        },
      );
      subscription.ready.then(
        (answer) => active && setState((s) => ({ ...s, subscribed: answer })),
        (reason: unknown) => active && setState((s) => ({ ...s, error: asError(reason) })),
      );
      unsubscribe = () => void subscription.unsubscribe().catch(noop);
    } catch (err) {
      setState((s) => ({ ...s, error: asError(err) }));
    }
    return () => {
      active = false;
      unsubscribe();
    };
  }, [topic]);
  return {
    last: state.last?.data,
    publication: state.last?.publication,
    subscribed: state.subscribed,
    recovery: state.recovery,
    error: state.error,
  };
}

function noop(): void {}
