// Owns the network transport: the client's messages over one WebSocket to an auroraview
// server (docs/network.md) — authentication, heartbeats both ways, and reconnection.
//
// Authentication happens at the upgrade, never in a frame: the socket offers the subprotocols
// `auroraview` and, with a token, `auroraview.token.TOKEN` (browsers cannot set headers on a
// WebSocket, but can offer subprotocols); the server selects `auroraview`, or
// `auroraview.batch`, offered first: several messages queued together then come as one, a
// JSON array of them, read here message by message. Without a token only those two are
// offered and the upgrade must authenticate otherwise (a same-origin page holding the
// server's cookie). An upgrade without valid credentials is accepted and closed
// at once with 4001. The token never goes in the URL, and no `hello` frame is ever sent.
//
// What happens to a message depends on the state, and nothing is ever sent twice:
//
// - `connecting`, before the first welcome: sends are queued (at most `maxQueued`, default
//   1000; one more throws) and go out, in order, right after the first `welcome`, on that
//   connection only. A queued call that times out or is aborted is taken out of the queue
//   and never sent. A socket that fails before its welcome leaves the queue as it is: none
//   of it reached a server.
// - `open`: sends go out at once.
// - `connecting` again, after a welcomed connection was lost: sends throw, so the client
//   rejects the call at once with `disconnected` (and it rejected every call in flight when
//   the state left `open`: the server forgot them). Re-sending could run a handler twice.
// - `closed` (user `close()`, close code 4001 or 4003, HTTP 401/403 at the upgrade,
//   `maxAttempts` used up): sends throw; no reconnection.
//
// A binary call (docs/binary.md) is one binary message, a frame, queued and refused as a text
// message is; its reply is a binary message too. Sockets receive binary messages as
// ArrayBuffers (`binaryType`), which are read at once, in order with the text ones.
//
// The transport keeps no call bookkeeping (client.ts does); it only tracks the socket.
// Every socket it gives up on is detached first (its handlers become no-ops), so a late
// event from an old socket never touches the current one.
//
// Only the server delivers replies and events (RELIABILITY.md case 28). Frames are parsed
// with the `JSON.parse` of load time (intrinsics.ts). In a browser, with its own WebSocket,
// an event counts only if the browser made it (`isTrusted`, an unforgeable own property) for
// this transport's socket (`target`, through the getter of load time), and a message's text
// is read through `MessageEvent.prototype.data`'s getter of load time: a page script that
// got hold of a handler can neither pass it a made-up message nor one from a socket of its
// own. Nor can it get hold of the socket: the transport uses it only through the `send`,
// `close`, `readyState` and `on…` accessors of load time and looks nothing else up on it or
// on its events (a hook on `WebSocket.prototype`, or a getter put on `Object.prototype`,
// would see the socket as `this`). A script holding the socket could send frames with the
// ids of calls in flight that the server answers at once with an error (an unknown command,
// invalid params), settling those calls with answers the server gave to the page's frames.

import {
  appended,
  clearTimer,
  getOwnPropertyDescriptor,
  isArray,
  jsonParse,
  jsonStringify,
  reflectApply,
  setTimer,
  without,
} from "../intrinsics.js";
import { decodeFrame, encodeFrame, isBytes } from "../frame.js";
import { PROTOCOL_VERSION, type CallId, type ClientMessage, type HostMessage } from "../protocol.gen.js";
import type { CallMessage, Transport, TransportSink, TransportState } from "../transport.js";

// ── The network's own messages (docs/network.md). Local until the Rust generator adds them
// ── to protocol.gen.ts.

/** Server → client: the connection is authenticated, hence open. */
export interface WelcomeMessage {
  type: "welcome";
  /** The server's id of this connection (a new one after every reconnection). */
  conn: number;
  /** The server's heartbeat interval: it pings when it sent nothing for this long. */
  heartbeat_ms: number;
  protocol: number;
}
/** Either way: are you there? Answered with `pong`. */
export interface PingMessage {
  type: "ping";
}
/** Either way: yes. */
export interface PongMessage {
  type: "pong";
}

/** Where the server serves its WebSocket. */
export const WEBSOCKET_PATH = "/__auroraview/ws";
/** The subprotocol every client offers and the server selects. */
export const SUBPROTOCOL = "auroraview";
/** Prefix of the subprotocol that carries the token: `auroraview.token.TOKEN`. */
export const TOKEN_SUBPROTOCOL_PREFIX = "auroraview.token.";

/** Offered before `auroraview`: the server may then send several messages as one, a JSON
 * array of them (docs/network.md), which this transport reads. */
export const BATCH_SUBPROTOCOL = "auroraview.batch";

/** The subprotocols a socket offers at the upgrade: `auroraview.batch`, `auroraview`, and
 * the token's if any. */
export function subprotocols(token?: string): string[] {
  const offered = [BATCH_SUBPROTOCOL, SUBPROTOCOL];
  return token === undefined ? offered : [...offered, TOKEN_SUBPROTOCOL_PREFIX + token];
}
/** Close codes with a meaning on this endpoint (docs/network.md, "Close codes"). */
export const CloseCode = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  unauthorized: 4001,
  heartbeatTimeout: 4002,
  tokenRevoked: 4003,
  slowConsumer: 4008,
} as const);

// ── The WebSocket implementation: the WHATWG one (browsers, Node >= 22) or `ws`'s.

/** The members used, which both the WHATWG `WebSocket` and the `ws` package's have. */
export interface WebSocketLike {
  readonly readyState: number;
  // The handler parameters are `any` so that the DOM's and `ws`'s handler types both fit.
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  /** `"arraybuffer"`: binary messages arrive as ArrayBuffers (set on every socket). */
  binaryType?: string;
  /** A string is a text message; bytes are one binary message (a frame, docs/binary.md). */
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** `ws` only: drop the TCP connection without a closing handshake (a dead peer never answers it). */
  terminate?(): void;
}

/** `globalThis.WebSocket`, or `import WebSocket from "ws"`: both take the subprotocols
 * offered at the upgrade as the second argument. The third is `ws`'s options (others ignore
 * it): `maxPayload: 0` lifts its 100 MiB limit on a received message, so a binary reply up
 * to the server's `max_binary_bytes` (512 MiB by default) gets through, as in a browser. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { maxPayload?: number }) => WebSocketLike;

const OPEN = 1; // WebSocket.OPEN, the same in every implementation

// The browser's WebSocket and event accessors as they were at load (see the header).
const GlobalWebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
const EventIntrinsic = (globalThis as { Event?: typeof Event }).Event;
const MessageEventIntrinsic = (globalThis as { MessageEvent?: typeof MessageEvent }).MessageEvent;
const targetGetter = EventIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(EventIntrinsic.prototype, "target")?.get;
const dataGetter = MessageEventIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(MessageEventIntrinsic.prototype, "data")?.get;
const CloseEventIntrinsic = (globalThis as { CloseEvent?: typeof CloseEvent }).CloseEvent;
const closeCodeGetter = CloseEventIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(CloseEventIntrinsic.prototype, "code")?.get;
const closeReasonGetter = CloseEventIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(CloseEventIntrinsic.prototype, "reason")?.get;
/** The browser's socket members as they were at load: the only way the transport touches its
 * own socket in a browser (see the header). */
const socketProto = GlobalWebSocket === undefined ? undefined : (GlobalWebSocket.prototype as object | undefined);
const socketMember = (name: string): PropertyDescriptor | undefined =>
  socketProto === undefined ? undefined : getOwnPropertyDescriptor(socketProto, name);
const nativeSocket = {
  send: socketMember("send")?.value as ((data: string | Uint8Array) => void) | undefined,
  binaryType: socketMember("binaryType")?.set,
  close: socketMember("close")?.value as ((code?: number, reason?: string) => void) | undefined,
  readyState: socketMember("readyState")?.get,
  onopen: socketMember("onopen")?.set,
  onmessage: socketMember("onmessage")?.set,
  onerror: socketMember("onerror")?.set,
  onclose: socketMember("onclose")?.set,
};
const nativeSocketComplete =
  typeof nativeSocket.send === "function" && typeof nativeSocket.close === "function" && nativeSocket.readyState !== undefined &&
  nativeSocket.binaryType !== undefined &&
  nativeSocket.onopen !== undefined && nativeSocket.onmessage !== undefined && nativeSocket.onerror !== undefined &&
  nativeSocket.onclose !== undefined && closeCodeGetter !== undefined && closeReasonGetter !== undefined;
/** A page in a browser: where page scripts share the realm, and the browser marks its own events. */
const inBrowser = typeof document === "object" && document !== null;

// ── Connection events.

/** The server's welcome, as `connected` reports it. */
export interface ConnectedInfo {
  /** The server's id of this connection. */
  conn: number;
  /** The server's protocol version (this SDK speaks `PROTOCOL_VERSION`). */
  protocol: number;
  /** The server's heartbeat interval. */
  heartbeatMs: number;
}

/** A connection ended, or the transport gave up. */
export interface DisconnectedInfo {
  /** The WebSocket close code (1006: the connection dropped with no close frame). 4002 when
   * this client found the server silent, 4001 also for an HTTP 401 at the upgrade. */
  code: number;
  reason: string;
  /** False when the state is now `closed` for good. */
  willReconnect: boolean;
}

/** What `connection.on` can listen to, with the value each listener gets. */
export interface ConnectionEvents {
  /** Every welcome: the first connection and each reconnection. */
  connected: ConnectedInfo;
  /** Once when a welcomed connection ends, and once when the transport closes for good. */
  disconnected: DisconnectedInfo;
  /** Failed attempts, undecodable frames, a protocol version this SDK does not know.
   * Informational: the state changes only through `connected` and `disconnected`. */
  error: Error;
}

/** Counters for diagnostics and tests. */
export interface ConnectionStats {
  /** Sockets created (the first connection and every reconnection attempt). */
  attempts: number;
  /** Welcomes received. */
  connects: number;
  /** Frames sent and received, heartbeats included. */
  sent: number;
  received: number;
  /** Messages waiting for the first welcome. */
  queued: number;
  /** Binary messages from the server that were not bytes (a `Blob`: a socket whose
   * `binaryType` could not be set), ignored. */
  binaryIgnored: number;
  /** Text messages that were not a JSON object, and binary ones that were not a binary frame
   * holding one (docs/binary.md), ignored. */
  invalidFrames: number;
  /** Times the server was silent for `heartbeatMs + heartbeatTimeoutMs`. */
  heartbeatTimeouts: number;
}

/** The connection behind a network client: its state, events, and `close()`. */
export interface Connection {
  readonly state: TransportState;
  /** The current connection's welcome while `open`, else undefined. */
  readonly info: ConnectedInfo | undefined;
  /** The `ws://` or `wss://` URL connected to. */
  readonly url: string;
  on<K extends keyof ConnectionEvents>(event: K, listener: (value: ConnectionEvents[K]) => void): () => void;
  off<K extends keyof ConnectionEvents>(event: K, listener?: (value: ConnectionEvents[K]) => void): void;
  /** Close for good (state `closed`, no reconnection; calls in flight reject with `disconnected`). */
  close(code?: number, reason?: string): void;
  stats(): ConnectionStats;
}

export interface WebSocketTransportOptions {
  /** `ws://HOST:PORT/__auroraview/ws` (or `wss://`); `http(s)://HOST:PORT/?token=T` as the
   * server prints it (the token is taken from it); or a path such as `/__auroraview/ws`,
   * resolved against `base`. A `token` query parameter is taken as the token and removed:
   * it goes in the subprotocol list at the upgrade, never in the request line. */
  url: string;
  /** The server's token, offered at the upgrade as the subprotocol `auroraview.token.TOKEN`
   * (next to `auroraview`). Without one only `auroraview` is offered: the upgrade must
   * authenticate otherwise (a browser tab holding the server's cookie). */
  token?: string;
  /** The WebSocket class: `import WebSocket from "ws"` in Node < 22. Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** What a relative `url` resolves against. Default: `location.href` (browsers). */
  base?: string;
  /** Send `ping` after this long without sending anything. Default: the welcome's `heartbeat_ms`. */
  heartbeatMs?: number;
  /** The server is dead after `heartbeatMs + heartbeatTimeoutMs` without any frame from it:
   * the socket is dropped (close code 4002) and a reconnection starts. Default 10000. */
  heartbeatTimeoutMs?: number;
  /** From creating a socket to its welcome; past it the attempt counts as failed. Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnection delay: `random(0, min(maxDelayMs, baseDelayMs * 2 ** attempt))` ms. Default 250. */
  baseDelayMs?: number;
  /** Default 10000. */
  maxDelayMs?: number;
  /** Failed attempts in a row (since the last welcome) before giving up: the state becomes
   * `closed`. Default: unlimited. 0: never reconnect. */
  maxAttempts?: number;
  /** Messages queued before the first welcome. Default 1000. */
  maxQueued?: number;
  /** Jitter source (tests). Default `Math.random`. */
  random?: () => number;
  onConnected?: (info: ConnectedInfo) => void;
  onDisconnected?: (info: DisconnectedInfo) => void;
  onError?: (error: Error) => void;
}

/** A `Transport` with the connection's own API. */
export interface WebSocketTransport extends Transport {
  readonly connection: Connection;
}

/**
 * The delay before reconnection attempt `attempt` (0 for the first after a loss): full
 * jitter, `random(0, min(maxDelayMs, baseDelayMs * 2 ** attempt))`, so a thousand clients of
 * a restarted server do not come back in one burst. An integer in `[0, cap)`.
 */
export function backoffDelay(attempt: number, baseDelayMs = 250, maxDelayMs = 10_000, random: () => number = Math.random): number {
  const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(attempt, 0), 52));
  const r = random();
  return Math.floor((r >= 0 && r < 1 ? r : 0) * cap);
}

/** The WebSocket URL and token that `url` and `token` (options of the same names) mean. */
export function resolveEndpoint(url: string, token?: string, base?: string): { url: string; token: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    const origin = base ?? (globalThis as { location?: { href?: string } }).location?.href;
    if (origin === undefined) throw new TypeError(`auroraview: "${url}" is a relative url and there is no location to resolve it against: give an absolute ws:// url`);
    parsed = new URL(url, origin);
  }
  switch (parsed.protocol) {
    case "ws:":
    case "wss:":
      break;
    case "http:":
    case "https:":
      parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
      // The printed URL is the app's page (`/?token=…`): the socket is at a fixed path.
      if (!parsed.pathname.endsWith(WEBSOCKET_PATH)) parsed.pathname = WEBSOCKET_PATH;
      break;
    default:
      throw new TypeError(`auroraview: cannot connect to "${parsed.protocol}" urls: give ws://, wss://, http:// or https://`);
  }
  const inUrl = parsed.searchParams.get("token") ?? undefined;
  if (inUrl !== undefined) parsed.searchParams.delete("token");
  parsed.hash = "";
  if (token !== undefined && inUrl !== undefined && token !== inUrl) {
    throw new TypeError("auroraview: the url's token and the token option differ");
  }
  const chosen = token ?? inUrl;
  if (chosen !== undefined && (typeof chosen !== "string" || chosen === "")) {
    throw new TypeError("auroraview: the token must be a non-empty string");
  }
  // It travels as a subprotocol, which must be an HTTP token (RFC 6455 §4.1; browsers throw
  // a SyntaxError otherwise). The server's tokens are [A-Za-z0-9_-].
  if (chosen !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(chosen)) {
    throw new TypeError("auroraview: the token has characters that cannot be sent at the upgrade");
  }
  return { url: parsed.href, token: chosen };
}

function duration(name: string, value: number | undefined, fallback: number, { zero = true, infinite = false } = {}): number {
  if (value === undefined) return fallback;
  const ok = typeof value === "number" && !Number.isNaN(value) && (zero ? value >= 0 : value > 0) && (infinite || Number.isFinite(value));
  if (!ok) throw new RangeError(`auroraview: option ${name} must be a ${zero ? "non-negative" : "positive"} number, not ${String(value)}`);
  return value;
}

const PING = '{"type":"ping"}';
const PONG = '{"type":"pong"}';

interface Queued {
  /** The call's id, so that cancelling a call still queued removes it instead. */
  call: CallId | undefined;
  /** A text message, or a binary frame (a binary call). */
  data: string | Uint8Array;
}

/** A transport over a WebSocket to an auroraview server. Connects when the client attaches. */
export function websocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  if (options === null || typeof options !== "object" || typeof options.url !== "string") {
    throw new TypeError("auroraview: websocketTransport needs { url }");
  }
  const found = options.WebSocket ?? GlobalWebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof found !== "function") {
    throw new TypeError(
      "auroraview: no WebSocket implementation: this runtime has no global WebSocket (Node < 22); " +
        'install the "ws" package and pass it: createAuroraView({ url, token, WebSocket }) with `import WebSocket from "ws"`',
    );
  }
  const Socket: WebSocketConstructor = found;
  const endpoint = resolveEndpoint(options.url, options.token, options.base);
  const heartbeatOption = options.heartbeatMs === undefined ? undefined : duration("heartbeatMs", options.heartbeatMs, 0, { zero: false });
  const heartbeatTimeout = duration("heartbeatTimeoutMs", options.heartbeatTimeoutMs, 10_000);
  const connectTimeout = duration("connectTimeoutMs", options.connectTimeoutMs, 10_000, { zero: false });
  const baseDelay = duration("baseDelayMs", options.baseDelayMs, 250);
  const maxDelay = duration("maxDelayMs", options.maxDelayMs, 10_000);
  const maxAttempts = duration("maxAttempts", options.maxAttempts, Infinity, { infinite: true });
  const maxQueued = duration("maxQueued", options.maxQueued, 1000);
  const random = options.random ?? Math.random;
  const protocols = subprotocols(endpoint.token);
  // The browser's own sockets: check that each event is the browser's, for our socket.
  // Then the socket is used only through the accessors of load time (`nativeSocket`).
  const checkEvents = inBrowser && Socket === GlobalWebSocket && targetGetter !== undefined && dataGetter !== undefined && nativeSocketComplete;
  /** Socket events refused as not the browser's for this socket (page scripts). */
  let refused = 0;

  let state: TransportState = "connecting";
  let sink: TransportSink | undefined;
  let socket: WebSocketLike | undefined;
  /** Messages waiting for the first welcome; undefined once it came (nothing queues after). */
  let queue: Queued[] | undefined = [];
  /** Failed attempts since the last welcome. */
  let attempt = 0;
  let info: ConnectedInfo | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setTimeout> | undefined;
  let deadTimer: ReturnType<typeof setTimeout> | undefined;
  // Heartbeats compare timestamps when a timer fires rather than re-arming timers on every
  // frame: the hot path pays one Date.now() per frame.
  let interval = 0;
  let silence = 0;
  let sentAt = 0;
  let heardAt = 0;
  let confirming = false;
  const stats: Omit<ConnectionStats, "queued"> = {
    attempts: 0,
    connects: 0,
    sent: 0,
    received: 0,
    binaryIgnored: 0,
    invalidFrames: 0,
    heartbeatTimeouts: 0,
  };

  // Frozen arrays built without the array methods (intrinsics.ts), not `Set`s copied with
  // `Array.from`: a page script replacing those never sees the app's connection listeners.
  type Listeners = { -readonly [K in keyof ConnectionEvents]: readonly ((value: ConnectionEvents[K]) => void)[] | undefined };
  const listeners: Listeners = { connected: undefined, disconnected: undefined, error: undefined };
  function add<K extends keyof ConnectionEvents>(event: K, listener: (value: ConnectionEvents[K]) => void): void {
    const list = listeners[event] as readonly ((value: ConnectionEvents[K]) => void)[] | undefined;
    if (list !== undefined) for (let i = 0; i < list.length; i++) if (list[i] === listener) return;
    (listeners as Record<K, unknown>)[event] = appended(list, listener);
  }
  function remove<K extends keyof ConnectionEvents>(event: K, listener?: (value: ConnectionEvents[K]) => void): void {
    const list = listeners[event] as readonly ((value: ConnectionEvents[K]) => void)[] | undefined;
    (listeners as Record<K, unknown>)[event] = listener === undefined || list === undefined ? undefined : without(list, listener);
  }
  if (options.onConnected) add("connected", options.onConnected);
  if (options.onDisconnected) add("disconnected", options.onDisconnected);
  if (options.onError) add("error", options.onError);

  function known(event: string): event is keyof ConnectionEvents {
    return event === "connected" || event === "disconnected" || event === "error";
  }

  function emit<K extends keyof ConnectionEvents>(event: K, value: ConnectionEvents[K]): void {
    const list = listeners[event] as readonly ((value: ConnectionEvents[K]) => void)[] | undefined;
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const listener = list[i];
      try {
        listener(value);
      } catch (err) {
        console.error(`auroraview: a "${event}" listener threw`, err);
      }
    }
  }

  /** Whether `event` is the browser's own, for socket `ws` (always true outside a browser). */
  function genuine(event: unknown, ws: WebSocketLike): boolean {
    if (!checkEvents) return true;
    let ok = false;
    try {
      ok = (event as { isTrusted?: unknown }).isTrusted === true && reflectApply(targetGetter as () => unknown, event, []) === ws;
    } catch {
      ok = false; // not an Event at all
    }
    if (!ok && refused++ === 0) {
      console.warn("auroraview: ignored a socket event that the browser did not deliver (only the server delivers replies and events)");
    }
    return ok;
  }

  /** A message event's text: through the getter of load time in a browser. */
  function dataOf(event: { data?: unknown }): unknown {
    return checkEvents ? reflectApply(dataGetter as () => unknown, event, []) : event.data;
  }

  // The socket's members: in a browser through the accessors of load time, else its own.
  type Handler = (event: any) => void;
  type HandlerName = "onopen" | "onmessage" | "onerror" | "onclose";
  function setHandler(ws: WebSocketLike, name: HandlerName, fn: Handler): void {
    if (checkEvents) reflectApply(nativeSocket[name] as (fn: Handler) => void, ws, [fn]);
    else ws[name] = fn;
  }
  function readyStateOf(ws: WebSocketLike): number {
    return checkEvents ? (reflectApply(nativeSocket.readyState as () => number, ws, []) as number) : ws.readyState;
  }
  function sendOn(ws: WebSocketLike, data: string | Uint8Array): void {
    if (checkEvents) reflectApply(nativeSocket.send as (data: string | Uint8Array) => void, ws, [data]);
    else ws.send(data);
  }
  /** Binary messages arrive as ArrayBuffers (not Blobs, which can only be read later, out of order). */
  function receiveBytes(ws: WebSocketLike): void {
    if (checkEvents) reflectApply(nativeSocket.binaryType as (type: string) => void, ws, ["arraybuffer"]);
    else ws.binaryType = "arraybuffer";
  }
  function closeSocket(ws: WebSocketLike, code: number, reason: string): void {
    if (checkEvents) reflectApply(nativeSocket.close as (code?: number, reason?: string) => void, ws, [code, reason]);
    else ws.close(code, reason);
  }
  /** A browser's close event's code and reason, through the getters of load time. */
  function closeDetails(event: unknown): { code: unknown; reason: unknown } {
    try {
      return { code: reflectApply(closeCodeGetter as () => unknown, event, []), reason: reflectApply(closeReasonGetter as () => unknown, event, []) };
    } catch {
      return { code: undefined, reason: undefined }; // not a CloseEvent
    }
  }
  /** `ws`'s `terminate` (the `ws` package's), never looked up on a browser's socket. */
  function terminator(ws: WebSocketLike): (() => void) | undefined {
    if (checkEvents) return undefined;
    return typeof ws.terminate === "function" ? () => ws.terminate?.() : undefined;
  }

  function fail(message: string): void {
    if (listeners.error !== undefined) emit("error", new Error("auroraview: " + message));
  }

  /** Put `data` on the wire now (a string as a text message, bytes as a binary one); throws
   * when the socket cannot take it. */
  function raw(data: string | Uint8Array): void {
    const ws = socket;
    // A closing socket would drop the frame silently (both implementations): refuse instead.
    if (ws === undefined || readyStateOf(ws) !== OPEN) throw new Error("the connection is not open");
    sendOn(ws, data);
    sentAt = Date.now();
    stats.sent++;
  }

  function stopTimers(): void {
    if (connectTimer !== undefined) clearTimer(connectTimer);
    if (pingTimer !== undefined) clearTimer(pingTimer);
    if (deadTimer !== undefined) clearTimer(deadTimer);
    if (retryTimer !== undefined) clearTimer(retryTimer);
    connectTimer = pingTimer = deadTimer = retryTimer = undefined;
  }

  /** Forget `ws`: its late events are ignored. No-ops rather than null: `ws` throws on an
   * `error` event nobody listens to. */
  function detach(ws: WebSocketLike): void {
    const ignore = (): void => {};
    setHandler(ws, "onopen", ignore);
    setHandler(ws, "onmessage", ignore);
    setHandler(ws, "onerror", ignore);
    setHandler(ws, "onclose", ignore);
  }

  /** Give up on the current socket without waiting for its closing handshake. */
  function abandon(code: number, reason: string, terminate: boolean): void {
    const ws = socket;
    if (ws === undefined) return;
    socket = undefined;
    detach(ws);
    try {
      closeSocket(ws, code, reason);
    } catch {
      // already closing or closed
    }
    const kill = terminate ? terminator(ws) : undefined;
    if (kill !== undefined) {
      try {
        kill(); // a frozen peer never answers the close frame
      } catch {
        // already gone
      }
    }
  }

  function setState(next: TransportState, reason: string): void {
    state = next;
    sink?.setState(next, reason);
  }

  /** The current socket is gone (`code`, `reason`): reconnect, or close for good. */
  function lost(code: number, reason: string, fatal: boolean): void {
    stopTimers();
    socket = undefined;
    info = undefined;
    const wasOpen = state === "open";
    if (fatal || attempt >= maxAttempts) {
      finish(code, fatal || maxAttempts === 0 ? reason : `${reason}; gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}`);
      return;
    }
    if (wasOpen) {
      setState("connecting", describe(code, reason));
      emit("disconnected", { code, reason, willReconnect: true });
    }
    const delay = backoffDelay(attempt, baseDelay, maxDelay, random);
    attempt++;
    retryTimer = setTimer(connect, delay);
  }

  /** The state becomes `closed`, for good. */
  function finish(code: number, reason: string): void {
    if (state === "closed") return;
    stopTimers();
    queue = undefined;
    info = undefined;
    setState("closed", describe(code, reason)); // the client rejects everything in flight
    emit("disconnected", { code, reason, willReconnect: false });
  }

  function describe(code: number, reason: string): string {
    return `${reason || "connection closed"} (close code ${code})`;
  }

  function connect(): void {
    retryTimer = undefined;
    if (state === "closed") return;
    stats.attempts++;
    let ws: WebSocketLike;
    try {
      ws = new Socket(endpoint.url, protocols, { maxPayload: 0 });
    } catch (err) {
      // Thrown at once (a bad URL, mixed content): trying again would throw again.
      const message = err instanceof Error ? err.message : String(err);
      fail("could not create a WebSocket: " + message);
      lost(1006, "could not create a WebSocket: " + message, true);
      return;
    }
    socket = ws;
    receiveBytes(ws);
    /** An HTTP status that refused the upgrade (only `ws` reports it, in its error message). */
    let refused: number | undefined;
    // Open is not authenticated yet: the welcome (or a 4001 close) tells.
    setHandler(ws, "onopen", (): void => {});
    setHandler(ws, "onmessage", (event: { data: unknown }): void => {
      if (socket === ws && genuine(event, ws)) receive(dataOf(event));
    });
    setHandler(ws, "onerror", (event: { message?: unknown; error?: unknown } | undefined): void => {
      if (socket !== ws || !genuine(event, ws)) return;
      // A browser's error event says nothing more (and a getter on its prototype chain would
      // see it, hence the socket): only `ws`'s are read.
      const detail = checkEvents
        ? ""
        : event?.error instanceof Error ? event.error.message : typeof event?.message === "string" ? event.message : "";
      const status = /Unexpected server response: (\d{3})/.exec(detail);
      if (status) refused = Number(status[1]);
      fail("WebSocket error" + (detail ? ": " + detail : "") + ` (${endpoint.url})`);
    });
    setHandler(ws, "onclose", (event: { code?: unknown; reason?: unknown } | undefined): void => {
      if (socket !== ws || !genuine(event, ws)) return;
      detach(ws);
      const got = checkEvents ? closeDetails(event) : { code: event?.code, reason: event?.reason };
      let code = typeof got.code === "number" ? got.code : 1006;
      let reason = typeof got.reason === "string" ? got.reason : "";
      // 401 (wrong token, stale cookie) and 403 (origin) at the upgrade do not get better by
      // retrying; 503 (over capacity) and the rest might.
      const fatal = code === CloseCode.unauthorized || code === CloseCode.tokenRevoked || refused === 401 || refused === 403;
      if (refused === 401) {
        code = CloseCode.unauthorized;
        reason = "HTTP 401 at the upgrade: wrong token";
      } else if (refused !== undefined) {
        reason = `HTTP ${refused} at the upgrade`;
      }
      lost(code, reason, fatal);
    });
    connectTimer = setTimer(() => {
      connectTimer = undefined;
      if (socket !== ws || state === "open") return;
      const reason = `no welcome within ${connectTimeout} ms`;
      fail(reason + ` (${endpoint.url})`);
      abandon(CloseCode.heartbeatTimeout, reason, true);
      lost(CloseCode.heartbeatTimeout, reason, false);
    }, connectTimeout);
  }

  function receive(data: unknown): void {
    heardAt = Date.now(); // any frame is a sign of life
    stats.received++;
    if (typeof data !== "string") {
      receiveFrame(data);
      return;
    }
    let frame: unknown;
    try {
      frame = jsonParse(data);
    } catch {
      frame = undefined;
    }
    if (isArray(frame)) {
      // Several messages in one: the server chose `auroraview.batch` (docs/network.md).
      const messages: HostMessage[] = [];
      for (const one of frame as unknown[]) {
        if (!accept(one, messages)) {
          fail("a batch from the server holds something that is not a JSON object: " + data.slice(0, 80));
        }
      }
      if (messages.length > 0) sink?.receive(messages);
      return;
    }
    const messages: HostMessage[] = [];
    if (!accept(frame, messages)) {
      fail("a frame from the server is not a JSON object: " + data.slice(0, 80));
      return;
    }
    if (messages.length > 0) sink?.receive(messages);
  }

  /** One message from the server: the transport's own handled here, the rest added to
   * `messages` for the client. False (counted) when it is not a JSON object. */
  function accept(frame: unknown, messages: HostMessage[]): boolean {
    if (frame === null || typeof frame !== "object" || isArray(frame)) {
      stats.invalidFrames++;
      return false;
    }
    switch ((frame as { type?: unknown }).type) {
      case "ping":
        try {
          raw(PONG);
        } catch {
          // closing: nothing to answer on
        }
        return true;
      case "pong":
        return true;
      case "welcome":
        welcome(frame as WelcomeMessage);
        return true;
      default:
        messages.push(frame as HostMessage);
        return true;
    }
  }

  /** A binary message: a frame holding a reply with attachments (docs/binary.md). */
  function receiveFrame(data: unknown): void {
    if (!isBytes(data)) {
      stats.binaryIgnored++; // a Blob: the socket's binaryType is not ours
      return;
    }
    let message: unknown;
    let blobs: Uint8Array[];
    try {
      const frame = decodeFrame(data as ArrayBuffer | Uint8Array);
      message = jsonParse(frame.json);
      blobs = frame.blobs;
    } catch (err) {
      stats.invalidFrames++;
      const why = err instanceof Error ? err.message.replace(/^auroraview: /, "") : String(err);
      fail("a binary message from the server is not a binary frame: " + why);
      return;
    }
    if (message === null || typeof message !== "object" || isArray(message)) {
      stats.invalidFrames++;
      fail("a binary frame from the server does not hold a JSON object");
      return;
    }
    sink?.receiveBinary(message as HostMessage, blobs);
  }

  function welcome(frame: WelcomeMessage): void {
    if (state === "open") return; // one per connection; a second one changes nothing
    if (connectTimer !== undefined) clearTimer(connectTimer);
    connectTimer = undefined;
    attempt = 0;
    const serverHeartbeat = typeof frame.heartbeat_ms === "number" && frame.heartbeat_ms > 0 ? frame.heartbeat_ms : 15_000;
    info = Object.freeze({ conn: frame.conn, protocol: frame.protocol, heartbeatMs: serverHeartbeat });
    if (frame.protocol !== PROTOCOL_VERSION) {
      fail(`the server speaks protocol ${String(frame.protocol)}, this SDK ${PROTOCOL_VERSION}`);
    }
    interval = heartbeatOption ?? serverHeartbeat;
    silence = interval + heartbeatTimeout;
    sentAt = heardAt = Date.now();
    confirming = false;
    pingTimer = setTimer(pingCheck, interval);
    deadTimer = setTimer(deadCheck, silence);
    // Flush before `open`: whatever the client sends once it sees `open` goes after these.
    const waiting = queue;
    queue = undefined;
    if (waiting !== undefined) {
      try {
        for (let i = 0; i < waiting.length; i++) raw(waiting[i].data);
      } catch {
        // the socket closed under us: its close event follows and rejects the calls
      }
    }
    stats.connects++;
    setState("open", "");
    emit("connected", info);
  }

  function rearm(remaining: number, limit: number): number {
    // At least 1 ms (timers may fire early), at most `limit` (the clock may have gone back).
    return Math.max(1, Math.min(remaining, limit));
  }

  function pingCheck(): void {
    pingTimer = undefined;
    if (socket === undefined) return;
    const idle = Date.now() - sentAt;
    if (idle >= interval) {
      try {
        raw(PING);
      } catch {
        return; // closing: its close event follows
      }
      pingTimer = setTimer(pingCheck, interval);
    } else {
      pingTimer = setTimer(pingCheck, rearm(interval - idle, interval));
    }
  }

  function deadCheck(): void {
    deadTimer = undefined;
    if (socket === undefined) return;
    const quiet = Date.now() - heardAt;
    if (quiet < silence) {
      confirming = false;
      deadTimer = setTimer(deadCheck, rearm(silence - quiet, silence));
      return;
    }
    if (!confirming) {
      // Once more after pending I/O: a loop that was blocked runs due timers before it reads
      // the frames that arrived meanwhile, and those frames are signs of life.
      confirming = true;
      deadTimer = setTimer(deadCheck, 0);
      return;
    }
    confirming = false;
    stats.heartbeatTimeouts++;
    const reason = `heartbeat timeout: nothing from the server for ${quiet} ms`;
    abandon(CloseCode.heartbeatTimeout, reason, true);
    lost(CloseCode.heartbeatTimeout, reason, false);
  }

  function send(message: ClientMessage): void {
    if (state === "open") {
      raw(jsonStringify(message));
      return;
    }
    enqueue(message, jsonStringify);
  }

  /** Send binary call `message` as one binary message: a frame of its JSON and `blobs`. */
  function sendBinary(message: CallMessage, blobs: readonly Uint8Array[]): void {
    // Framed now, even when it waits: the caller may reuse its buffers once the call is made.
    const frame = (m: ClientMessage): Uint8Array => encodeFrame(jsonStringify(m), blobs);
    if (state === "open") raw(frame(message));
    else enqueue(message, frame);
  }

  /** `message` while not open: queued before the first welcome, else refused (see the header). */
  function enqueue(message: ClientMessage, serialise: (message: ClientMessage) => string | Uint8Array): void {
    if (state === "closed") throw new Error("the connection is closed");
    if (queue === undefined) {
      // Reconnecting: the call is rejected now rather than sent on a later connection.
      throw new Error("reconnecting to the server");
    }
    if (message.type === "cancel") {
      // Cancelling a call that never left: take it out, and there is nothing to cancel.
      for (let i = 0; i < queue.length; i++) {
        if (queue[i].call === message.id) {
          queue.splice(i, 1);
          return;
        }
      }
    }
    if (queue.length >= maxQueued) throw new Error(`${maxQueued} messages are waiting for the first connection already`);
    queue.push({ call: message.type === "call" ? message.id : undefined, data: serialise(message) });
  }

  function close(code: number = CloseCode.normal, reason = "closed by the client"): void {
    if (state === "closed") return;
    stopTimers();
    const ws = socket;
    socket = undefined;
    if (ws !== undefined) {
      detach(ws);
      try {
        closeSocket(ws, code, reason);
      } catch {
        // already closing
      }
      const terminate = terminator(ws);
      if (terminate !== undefined) {
        // `ws` waits 30 s for the server's close frame, keeping a Node process alive; a
        // live server answers in milliseconds, a frozen one never.
        const kill = setTimer(terminate, 2000);
        ws.onclose = () => clearTimer(kill);
      }
    }
    finish(code, reason);
  }

  const connection: Connection = Object.freeze({
    get state() {
      return state;
    },
    get info() {
      return info;
    },
    url: endpoint.url,
    on<K extends keyof ConnectionEvents>(event: K, listener: (value: ConnectionEvents[K]) => void): () => void {
      if (!known(event)) throw new TypeError(`auroraview: no connection event "${String(event)}" (connected, disconnected, error)`);
      add(event, listener);
      return () => remove(event, listener);
    },
    off<K extends keyof ConnectionEvents>(event: K, listener?: (value: ConnectionEvents[K]) => void): void {
      if (known(event)) remove(event, listener);
    },
    close,
    stats: (): ConnectionStats => ({ ...stats, queued: queue === undefined ? 0 : queue.length }),
  });

  return {
    get state() {
      return state;
    },
    attach(target: TransportSink): void {
      if (sink !== undefined) throw new Error("auroraview: the WebSocket transport is attached already");
      sink = target;
      connect();
    },
    send,
    sendBinary,
    connection,
    refused: () => refused,
  };
}
