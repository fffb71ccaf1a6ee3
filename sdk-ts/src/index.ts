// @auroraview/sdk: wiring and re-exports. The client and its transport contract, the error
// type pages switch on, a mock backend for frontend tests without Python, the protocol types,
// and the helpers generated bindings are written over.

import type { AuroraView } from "./client.js";

export { PROTOCOL_VERSION } from "./protocol.gen.js";
export type { CallError, CallId, ClientMessage, ErrorCode, HostMessage } from "./protocol.gen.js";
export { InvokeError, isInvokeError, type InvokeErrorOf, type InvokeErrorShape } from "./errors.js";
export type { Transport, TransportSink, TransportState } from "./transport.js";
export type { AuroraViewBridge } from "./global.js";
export {
  createClient,
  type AuroraView,
  type AuroraViewClient,
  type CallOptions,
  type ClientOptions,
  type ClientStats,
  type Listener,
  type Namespace,
  type Unsubscribe,
} from "./client.js";
export { mockAuroraView, type AnyMockHandlers, type MockAuroraView } from "./mock.js";
export {
  commandWithOptionalParams,
  commandWithoutParams,
  commandWithParams,
  hostEvent,
  pageEvent,
  type HostEvent,
  type PageEvent,
} from "./bindings.js";

let current: AuroraView | undefined;

/** Use `backend` (a mock, or a client over another transport) for every later `getAuroraView()`. */
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
