// Owns the mock backend: the real client over an in-memory transport answered by handlers.
//
// Reusing the client means a page tested against the mock sees what it would see in a
// window: the same errors (a thrown plain error arrives as an `InvokeError` with code
// `internal`), timeouts, cancellation and listener isolation.

import { createClient, extendClient, type AuroraViewClient } from "./client.js";
import { isInvokeError, type InvokeErrorShape } from "./errors.js";
import type { CallId, ClientMessage, HostMessage } from "./protocol.gen.js";
import type { Transport, TransportSink } from "./transport.js";

/** Handlers of a mock backend: return a value, or throw an `InvokeError` to reject.
 * Generated bindings export a `MockHandlers` type that checks each one against its command. */
export type AnyMockHandlers = Record<string, ((params: never) => unknown) | undefined>;

/** A backend for frontend tests: commands answered by `handlers`, events recorded. */
export interface MockAuroraView extends AuroraViewClient {
  /** Events the page sent with `send_event`, in order. */
  readonly sent: Array<{ event: string; detail: unknown }>;
  /** Push an event to the page's listeners, as Python's `emit` would. */
  emit(event: string, payload: unknown): void;
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

export function mockAuroraView<H extends object = AnyMockHandlers>(handlers: H): MockAuroraView {
  const table = handlers as unknown as Record<string, ((params: unknown) => unknown) | undefined>;
  const sent: Array<{ event: string; detail: unknown }> = [];
  const cancelled = new Set<CallId>();
  let sink: TransportSink | undefined;
  const deliver = (frame: HostMessage): void => sink?.receive([frame]);

  async function answer(id: CallId, method: string, params: unknown): Promise<void> {
    const handler = table[method];
    let frame: HostMessage;
    if (!handler) {
      const error = { name: "MethodNotFound", code: "method_not_found", message: `no command named "${method}"`, data: null };
      frame = { type: "call_result", id, ok: false, error };
    } else {
      try {
        frame = { type: "call_result", id, ok: true, result: await handler(params) };
      } catch (err) {
        frame = { type: "call_result", id, ok: false, error: shapeOf(err) };
      }
    }
    // A host that cancelled a call sends no reply for it.
    if (!cancelled.delete(id)) deliver(frame);
  }

  const transport: Transport = {
    state: "open",
    attach(target) {
      sink = target;
    },
    send(message: ClientMessage) {
      if (message.type === "call") void answer(message.id, message.method, message.params);
      else if (message.type === "event") sent.push({ event: message.event, detail: message.detail });
      else if (message.type === "cancel") cancelled.add(message.id);
    },
  };
  const client = createClient(transport);
  return extendClient(client, {
    sent,
    emit(event: string, payload: unknown): void {
      deliver({ type: "event", event, payload });
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
