// The injected bridge: defines `window.auroraview` before any page script runs.
//
// Messages to the host go through WebKit's `ipc` message handler (wry's `window.ipc`
// elsewhere) as JSON envelopes (see src/protocol), each carrying this document's key: a
// random value made here, announced first of all with `hello`, and kept in this closure.
// A frame that can reach the message handler but not this closure (an iframe) cannot
// produce it, so the host refuses its messages (RELIABILITY.md cases 17 and 18). Replies and events come back as data: the host calls the one
// pre-registered receiver, `__auroraview_receive`, with a JSON string holding a batch of
// frames. Nothing the host sends is ever evaluated as code built from payloads.

interface InvokeErrorShape {
  name: string;
  code: string;
  message: string;
  data: unknown;
}

interface CallOptions {
  /** Milliseconds before the call is cancelled and rejected with code `timeout`. */
  timeout?: number;
  /** Aborting sends `cancel` to the host and rejects with code `cancelled`. */
  signal?: AbortSignal;
}

type Listener = (payload: unknown) => void;

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (reason: Error) => void;
  /** Set only when the call has a timeout or an abort signal (kept off the common path). */
  cleanup?: () => void;
}

interface HostFrame {
  type: string;
  id?: string | number;
  ok?: boolean;
  result?: unknown;
  error?: InvokeErrorShape;
  event?: string;
  payload?: unknown;
}

interface IpcLike {
  postMessage(message: string): void;
}

(() => {
  const w = window as unknown as Record<string, unknown>;
  if (w.auroraview && (w.auroraview as Record<string, unknown>).__bridge === 1) {
    return; // already installed in this document
  }

  /** An `Error` carrying the host's `{name, code, message, data}`. */
  class InvokeError extends Error {
    readonly code: string;
    readonly data: unknown;
    constructor(shape: InvokeErrorShape) {
      super(shape.message);
      this.name = shape.name;
      this.code = shape.code;
      this.data = shape.data;
    }
  }

  const pending = new Map<string | number, PendingCall>();
  const listeners = new Map<string, Set<Listener>>();
  const outbox: string[] = [];
  let nextId = 1;
  /** Replies whose id matched no call in flight (stale, duplicate, or for another page). */
  let unmatched = 0;

  // Taken before any page script runs: what a page later does to these globals cannot
  // observe or redirect what the bridge sends.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const webkit = (window as unknown as { webkit?: { messageHandlers?: Record<string, IpcLike> } }).webkit;
  const handler = webkit?.messageHandlers?.ipc;
  /** Where messages go, once known. */
  let channel: ((text: string) => void) | undefined =
    handler && typeof handler.postMessage === "function" ? handler.postMessage.bind(handler) : undefined;

  const key = (() => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    let hex = "";
    for (let i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return hex;
  })();

  /** A message envelope with the page key; `rest` is `,"field":json...` or empty. */
  function envelope(type: string, rest: string): string {
    return '{"type":"' + type + '","key":"' + key + '"' + rest + "}";
  }

  function ipc(): ((text: string) => void) | undefined {
    if (channel) return channel;
    const candidate = (window as unknown as { ipc?: IpcLike }).ipc;
    if (candidate && typeof candidate.postMessage === "function") channel = (text) => candidate.postMessage(text);
    return channel;
  }

  function flush(): void {
    const send = ipc();
    if (!send) return;
    while (outbox.length > 0) {
      send(outbox.shift() as string);
    }
  }

  function post(text: string): void {
    if (channel && outbox.length === 0) {
      channel(text); // the common case: nothing queued ahead of this message
      return;
    }
    outbox.push(text);
    flush();
  }

  /** `,"name":json` for a value given, nothing for one that is absent or not JSON. */
  function field(name: string, value: unknown): string {
    if (value === undefined) return "";
    const json = stringify(value) as string | undefined;
    return json === undefined ? "" : ',"' + name + '":' + json;
  }

  // The key binds to this document before any of its own scripts (or frames) exist.
  post(envelope("hello", ""));

  function settle(frame: HostFrame): void {
    if (frame.id === undefined) return;
    const call = pending.get(frame.id);
    if (!call) {
      unmatched += 1; // cancelled or timed out already, or not ours
      return;
    }
    pending.delete(frame.id);
    if (call.cleanup) call.cleanup();
    if (frame.ok) {
      call.resolve(frame.result);
    } else {
      const e = frame.error ?? { name: "Error", code: "internal", message: "malformed reply", data: null };
      call.reject(new InvokeError(e));
    }
  }

  function trigger(event: string, payload?: unknown): void {
    if (event === "__auroraview_call_result") {
      // The seeds' internal event: `{id, ok, result | error}`.
      settle({ type: "call_result", ...(payload as object) } as HostFrame);
      return;
    }
    const set = listeners.get(event);
    if (!set) return;
    for (const listener of Array.from(set)) {
      try {
        listener(payload);
      } catch (err) {
        // One failing listener must not stop the others.
        console.error(`auroraview: listener for "${event}" threw`, err);
      }
    }
  }

  function call(method: string, params?: unknown, options?: CallOptions): Promise<unknown> {
    const id = nextId++;
    const message = envelope("call", ',"id":' + id + field("method", method) + field("params", params));
    const timeout = options?.timeout;
    const signal = options?.signal;
    if (timeout === undefined && !signal) {
      // The common case: no timer, no listener, no per-call closures beyond the promise's.
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        post(message);
      });
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => fail("AbortError", "cancelled", "the call was aborted");
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      function fail(name: string, code: string, msg: string): void {
        if (!pending.delete(id)) return;
        cleanup();
        post(envelope("cancel", ',"id":' + id));
        reject(new InvokeError({ name, code, message: msg, data: null }));
      }
      if (signal?.aborted) {
        reject(new InvokeError({ name: "AbortError", code: "cancelled", message: "the call was aborted", data: null }));
        return;
      }
      pending.set(id, { resolve, reject, cleanup });
      if (timeout !== undefined) {
        timer = setTimeout(() => fail("TimeoutError", "timeout", `no reply within ${timeout} ms`), timeout);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      post(message);
    });
  }

  function send_event(event: string, detail?: unknown): void {
    post(envelope("event", field("event", event) + field("detail", detail)));
  }

  function on(event: string, handler: Listener): () => void {
    let set = listeners.get(event);
    if (!set) {
      set = new Set();
      listeners.set(event, set);
    }
    set.add(handler);
    return () => off(event, handler);
  }

  function off(event: string, handler?: Listener): void {
    if (handler === undefined) {
      listeners.delete(event);
    } else {
      listeners.get(event)?.delete(handler);
    }
  }

  function once(event: string, handler: Listener): () => void {
    const unsubscribe = on(event, (payload) => {
      unsubscribe();
      handler(payload);
    });
    return unsubscribe;
  }

  /** The receiver the host calls with a JSON array of frames (a string: data, not code). */
  function receive(batch: string): void {
    let frames: HostFrame[];
    try {
      frames = parse(batch) as HostFrame[];
    } catch (err) {
      console.error("auroraview: undecodable batch from the host", err);
      return;
    }
    for (const frame of frames) {
      if (frame.type === "call_result") {
        settle(frame);
      } else if (frame.type === "event" && typeof frame.event === "string") {
        trigger(frame.event, frame.payload);
      }
    }
  }

  // `auroraview.api.method(params)` → `call("api.method", params)` (for `bind_api`).
  const api = new Proxy(Object.freeze({}) as Record<string, unknown>, {
    get(_target, name) {
      if (typeof name !== "string" || name === "then") return undefined;
      return (params?: unknown, options?: CallOptions) => call(`api.${name}`, params, options);
    },
  });

  /** Counters for diagnostics and tests. */
  function stats(): { pending: number; unmatched: number } {
    return { pending: pending.size, unmatched };
  }

  const auroraview = Object.freeze({
    __bridge: 1,
    stats,
    call,
    send_event,
    on,
    off,
    once,
    trigger,
    api,
    InvokeError,
  });

  Object.defineProperty(window, "auroraview", { value: auroraview, writable: false, configurable: false });
  Object.defineProperty(window, "__auroraview_receive", { value: receive, writable: false, configurable: false });

  const ready = (): void => {
    post(envelope("ready", "")); // the host holds replies and events until it sees this
    flush();
    window.dispatchEvent(new CustomEvent("auroraviewready", { detail: auroraview }));
  };
  // `auroraviewready` fires once the page's own scripts could register for it, and once
  // wry's channel exists; messages sent before that wait in the outbox, none is lost.
  const whenChannel = (): void => {
    if (ipc()) {
      ready();
      return;
    }
    const poll = setInterval(() => {
      if (ipc()) {
        clearInterval(poll);
        ready();
      }
    }, 1);
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", whenChannel, { once: true });
  } else {
    setTimeout(whenChannel, 0);
  }
})();
