// @auroraview/sdk: the typed client of `window.auroraview` (the injected bridge), the
// error type pages switch on, and a mock backend for frontend tests without Python.

export { PROTOCOL_VERSION } from "./protocol.gen.js";
export type { CallError, CallId, ClientMessage, ErrorCode, HostMessage } from "./protocol.gen.js";

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds before the call is cancelled and rejected with code `timeout`. */
  timeout?: number;
  /** Aborting cancels the call on the host and rejects it with code `cancelled`. */
  signal?: AbortSignal;
}

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/** What every failed call rejects with: `{name, code, message, data}` on an `Error`. */
export interface InvokeErrorShape<N extends string = string, C extends string = string, D = unknown> {
  name: N;
  code: C;
  message: string;
  data: D;
}

/** A declared error type (generated bindings build their `DeclaredError` union from it). */
export type InvokeErrorOf<N extends string, C extends string, D> = Error & InvokeErrorShape<N, C, D>;

/** The page-side API, as the bridge defines it. */
export interface AuroraView {
  call(method: string, params?: unknown, options?: CallOptions): Promise<unknown>;
  send_event(event: string, detail?: unknown): void;
  on(event: string, handler: (payload: unknown) => void): Unsubscribe;
  once(event: string, handler: (payload: unknown) => void): Unsubscribe;
  off(event: string, handler?: (payload: unknown) => void): void;
}

/** An error with the host's `{name, code, message, data}`. */
export class InvokeError<N extends string = string, C extends string = string, D = unknown>
  extends Error
  implements InvokeErrorShape<N, C, D>
{
  override readonly name: N;
  readonly code: C;
  readonly data: D;
  constructor(shape: InvokeErrorShape<N, C, D>) {
    super(shape.message);
    this.name = shape.name;
    this.code = shape.code;
    this.data = shape.data;
  }
}

/** True for any error a call rejected with (from the bridge, the SDK or a mock). */
export function isInvokeError(value: unknown): value is InvokeErrorOf<string, string, unknown> {
  return (
    value instanceof Error &&
    typeof (value as Partial<InvokeErrorShape>).code === "string" &&
    "data" in (value as object)
  );
}

let current: AuroraView | undefined;

/** Use `backend` (a mock, or another transport) for every later `getAuroraView()`. */
export function createAuroraView(backend?: AuroraView): AuroraView {
  current = backend ?? bridge();
  return current;
}

/** The active backend: the one given to `createAuroraView`, else the injected bridge. */
export function getAuroraView(): AuroraView {
  return current ?? bridge();
}

function bridge(): AuroraView {
  const av = (globalThis as { auroraview?: AuroraView }).auroraview;
  if (!av) {
    throw new Error("window.auroraview is not defined: run inside an auroraview window, or call createAuroraView(mock)");
  }
  return av;
}

/** Handlers of a mock backend: return a value, or throw an `InvokeError` to reject.
 * Generated bindings export a `MockHandlers` type that checks each one against its command. */
export type AnyMockHandlers = Record<string, ((params: never) => unknown) | undefined>;

/** A backend for frontend tests: commands answered by `handlers`, events recorded. */
export interface MockAuroraView extends AuroraView {
  /** Events the page sent with `send_event`, in order. */
  readonly sent: Array<{ event: string; detail: unknown }>;
  /** Push an event to the page's listeners, as Python's `emit` would. */
  emit(event: string, payload: unknown): void;
}

export function mockAuroraView<H extends object = AnyMockHandlers>(handlers: H): MockAuroraView {
  const table = handlers as unknown as Record<string, ((params: unknown) => unknown) | undefined>;
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const sent: Array<{ event: string; detail: unknown }> = [];
  const mock: MockAuroraView = {
    sent,
    async call(method, params, options) {
      const handler = table[method];
      if (!handler) {
        throw new InvokeError({ name: "MethodNotFound", code: "method_not_found", message: `no command named "${method}"`, data: null });
      }
      if (options?.signal?.aborted) {
        throw new InvokeError({ name: "AbortError", code: "cancelled", message: "the call was aborted", data: null });
      }
      return await handler(params);
    },
    send_event(event, detail) {
      sent.push({ event, detail });
    },
    on(event, handler) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(handler);
      return () => mock.off(event, handler);
    },
    once(event, handler) {
      const off = mock.on(event, (payload) => {
        off();
        handler(payload);
      });
      return off;
    },
    off(event, handler) {
      if (handler) listeners.get(event)?.delete(handler);
      else listeners.delete(event);
    },
    emit(event, payload) {
      for (const h of Array.from(listeners.get(event) ?? [])) h(payload);
    },
  };
  return mock;
}
