// @auroraview/sdk: wiring and re-exports. The client and its transport contract, the error
// type pages switch on, a mock backend for frontend tests without Python, the protocol types,
// and the helpers generated bindings are written over.

import type { AuroraView } from "./client.js";
import { connectAuroraView, type NetworkAuroraView, type NetworkOptions } from "./network.js";

export { PROTOCOL_VERSION } from "./protocol.gen.js";
export type { CallError, CallId, ClientMessage, ErrorCode, HostMessage } from "./protocol.gen.js";
export { InvokeError, isInvokeError, type InvokeErrorOf, type InvokeErrorShape } from "./errors.js";
export type { CallMessage, Transport, TransportSink, TransportState } from "./transport.js";
export {
  decodeFrame,
  encodeFrame,
  extractBlobs,
  FRAME_HEADER_BYTES,
  FRAME_TAG,
  hasBinary,
  insertBlobs,
  isBytes,
  type BlobPlaceholder,
  type DecodedFrame,
  type ExtractedBlobs,
} from "./frame.js";
export type { AuroraViewBridge } from "./global.js";
export {
  BINARY_SCAN_DEPTH,
  createClient,
  type AuroraView,
  type AuroraViewClient,
  type CallOptions,
  type ClientOptions,
  type ClientStats,
  type ItemStream,
  type Listener,
  type Namespace,
  type PublishOptions,
  type StreamOptions,
  type Unsubscribe,
} from "./client.js";
export type {
  Publication,
  PublishResult,
  RecoveryInfo,
  SubscribeOptions,
  SubscribeResult,
  Subscription,
  TopicHandler,
} from "./topics.js";
export { connectAuroraView, type NetworkAuroraView, type NetworkOptions } from "./network.js";
export {
  backoffDelay,
  CloseCode,
  resolveEndpoint,
  websocketTransport,
  WEBSOCKET_PATH,
  type ConnectedInfo,
  type Connection,
  type ConnectionEvents,
  type ConnectionStats,
  type DisconnectedInfo,
  type PingMessage,
  type PongMessage,
  type WebSocketConstructor,
  type WebSocketLike,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  type WelcomeMessage,
} from "./transports/websocket.js";
export { mockAuroraView, type AnyMockHandlers, type AnyTopics, type MockAuroraView, type PayloadOf } from "./mock.js";
export {
  binaryCommandWithOptionalParams,
  binaryCommandWithoutParams,
  binaryCommandWithParams,
  commandWithChannel,
  commandWithOptionalParams,
  commandWithoutParams,
  commandWithParams,
  hostEvent,
  pageEvent,
  publishTopic,
  pubSubTopic,
  streamWithOptionalParams,
  streamWithoutParams,
  streamWithParams,
  subscribeTopic,
  type HostEvent,
  type PageEvent,
  type PublishableTopic,
  type SubscribableTopic,
} from "./bindings.js";

let current: AuroraView | undefined;

/** Use `backend` (a mock, or a client over another transport) for every later `getAuroraView()`. */
export function createAuroraView(backend?: AuroraView): AuroraView;
/** Connect to an auroraview server (docs/network.md) and use that client for every later
 * `getAuroraView()`, so generated bindings call over the network. Connects at once; calls
 * made before the first welcome wait for it. A second call makes a second connection (the
 * first one stays open until its `connection.close()`). */
export function createAuroraView(options: NetworkOptions): NetworkAuroraView;
export function createAuroraView(arg?: AuroraView | NetworkOptions): AuroraView {
  if (arg === undefined) {
    current = bridge();
  } else if (typeof (arg as Partial<AuroraView>).call === "function") {
    current = arg as AuroraView;
  } else if (typeof (arg as Partial<NetworkOptions>).url === "string") {
    current = connectAuroraView(arg as NetworkOptions);
  } else {
    throw new TypeError("createAuroraView: expected a backend (an object with call) or network options ({ url, token? })");
  }
  return current;
}

/** The active backend: the one given to `createAuroraView`, else the injected bridge. */
export function getAuroraView(): AuroraView {
  return current ?? bridge();
}

function bridge(): AuroraView {
  const av = (globalThis as { auroraview?: AuroraView }).auroraview;
  if (!av) {
    throw new Error("window.auroraview is not defined: run inside an auroraview window, or call createAuroraView(mock) or createAuroraView({ url, token })");
  }
  return av;
}
