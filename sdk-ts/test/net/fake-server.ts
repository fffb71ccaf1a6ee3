// Owns the fake auroraview server the WebSocket tests run against: docs/network.md's wire
// (authentication at the upgrade by subprotocol or cookie, welcome, ping/pong both ways, call/cancel → call_result, events, close codes,
// a stream's items within a window moved by acks, docs/streams.md; binary calls and replies
// as binary frames, docs/binary.md) over
// `ws`'s WebSocketServer, with tests/net/app.py's commands, and switches to misbehave.
import { WebSocketServer, type WebSocket } from "ws";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const TOKEN = "test-token-0123456789abcdef";

/** The commands whose handlers count themselves in tests/net/app.py. */
const COUNTED = new Set(["api.echo", "api.add", "api.fail", "api.sleep", "api.emit"]);

type Json = Record<string, unknown>;

export interface FakeServerOptions {
  /** Listen here (0: any free port). */
  port?: number;
  token?: string;
  /** The welcome's heartbeat_ms; the server pings after this long without sending. */
  heartbeatMs?: number;
  /** As a cookie would: every upgrade is authenticated, with or without a token subprotocol. */
  authAtUpgrade?: boolean;
  /** Hold the welcome this long after the upgrade. */
  welcomeDelayMs?: number;
  /** Refuse every upgrade with this HTTP status. */
  refuseUpgrade?: number;
  /** Select `auroraview.batch` when a client offers it (the server may then send arrays of messages). */
  batch?: boolean;
  /** Plain GET responses by path (e.g. "/__auroraview/client.js"); anything else is a 404. */
  files?: Record<string, string>;
}

/** One accepted socket, as the server sees it. */
export interface Peer {
  conn: number;
  socket: WebSocket;
  /** Every message received on it, parsed (a binary frame's JSON too). */
  frames: Json[];
  /** The attachments of each binary frame received on it, in order. */
  binary: Buffer[][];
  /** The upgrade's request target (path and query). */
  path: string;
  /** The subprotocols the client offered (`Sec-WebSocket-Protocol`), in order. */
  offered: string[];
  /** The subprotocol the server selected ("" for none). */
  protocol: string;
  authenticated: boolean;
  timers: Map<unknown, ReturnType<typeof setTimeout>>;
  /** Streams in flight (`api.count`), by call id. */
  streams: Map<unknown, FakeStream>;
  lastSent: number;
  closed: { code: number; reason: string } | undefined;
}

/** A stream in flight: `n` items 0..n-1, at most `window` beyond the last acknowledged one. */
interface FakeStream {
  n: number;
  window: number;
  sent: number;
  acked: number;
}

export class FakeServer {
  readonly peers: Peer[] = [];
  /** When true the server neither sends nor answers anything, and does not welcome (as a
   * frozen process whose kernel still accepts connections). */
  silent = false;
  /** Calls received, by method, on every connection. */
  readonly calls = new Map<string, number>();
  /** Handlers that ran (as tests/net/app.py's `api.invocations` counts them). */
  invocations = 0;
  private nextConn = 1;
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
    private readonly options: FakeServerOptions,
  ) {}

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const refuse = options.refuseUpgrade;
    const http = createServer((req, res) => {
      const body = options.files?.[req.url ?? ""];
      res.writeHead(body === undefined ? 404 : 200, { "content-type": "text/plain; charset=utf-8" });
      res.end(body ?? "not found");
    });
    const wss = new WebSocketServer({
      server: http,
      path: "/__auroraview/ws",
      verifyClient: refuse === undefined ? undefined : (_info, done) => done(false, refuse),
      // Select "auroraview" when offered (browsers and `ws` fail a connection whose offered
      // subprotocols got no answer), never the token's.
      handleProtocols: (protocols) =>
        options.batch && protocols.has("auroraview.batch") ? "auroraview.batch" : protocols.has("auroraview") ? "auroraview" : false,
    });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const server = new FakeServer(http, wss, (http.address() as AddressInfo).port, options);
    wss.on("connection", (socket, request) => server.accept(socket, request));
    const heartbeatMs = options.heartbeatMs ?? 15_000;
    server.heartbeat = setInterval(() => server.tick(heartbeatMs), Math.max(10, heartbeatMs / 4));
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/__auroraview/ws`;
  }

  /** The peers that got a welcome. */
  get welcomed(): Peer[] {
    return this.peers.filter((p) => p.authenticated);
  }

  /** Every frame of type `type` received on any connection. */
  received(type: string): Json[] {
    return this.peers.flatMap((p) => p.frames.filter((f) => f.type === type));
  }

  /** Push an event to every authenticated connection. */
  emit(event: string, payload: unknown): void {
    for (const p of this.welcomed) this.send(p, { type: "event", event, payload });
  }

  /** Close every connection with `code`. */
  closeAll(code: number, reason = ""): void {
    for (const p of this.peers) if (p.closed === undefined) p.socket.close(code, reason);
  }

  /** Send raw data to every authenticated connection. */
  broadcastRaw(data: string | Buffer): void {
    for (const p of this.welcomed) if (p.closed === undefined) p.socket.send(data);
  }

  /** Stop listening and drop every connection without a closing handshake (a crash). */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const p of this.peers) {
      for (const timer of p.timers.values()) clearTimeout(timer);
      p.socket.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const header = request.headers["sec-websocket-protocol"];
    const offered = (header ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "");
    const peer: Peer = {
      conn: this.nextConn++,
      socket,
      frames: [],
      binary: [],
      path: request.url ?? "",
      offered,
      protocol: socket.protocol,
      authenticated: false,
      timers: new Map(),
      streams: new Map(),
      lastSent: Date.now(),
      closed: undefined,
    };
    this.peers.push(peer);
    socket.on("close", (code, reason) => {
      peer.closed = { code, reason: reason.toString() };
      for (const timer of peer.timers.values()) clearTimeout(timer);
    });
    socket.on("error", () => {}); // a terminated client: its close follows
    socket.on("message", (data, isBinary) => {
      if (this.silent) return;
      if (isBinary) {
        // A binary call (docs/binary.md), read here without the SDK's decoder.
        const frame = parseFrame(data as Buffer);
        if (frame === undefined) {
          socket.close(1007, "invalid binary frame");
          return;
        }
        peer.frames.push(frame.message);
        peer.binary.push(frame.blobs);
        this.handle(peer, frame.message, frame.blobs);
        return;
      }
      let frame: Json;
      try {
        frame = JSON.parse(data.toString()) as Json;
      } catch {
        socket.close(1007, "invalid message");
        return;
      }
      peer.frames.push(frame);
      this.handle(peer, frame);
    });
    if (this.silent) return;
    // Credentials come at the upgrade only (docs/network.md): the token as the subprotocol
    // `auroraview.token.TOKEN`, or the cookie. Without valid ones: accepted, closed 4001 at once.
    const token = offered.find((p) => p.startsWith("auroraview.token."))?.slice("auroraview.token.".length);
    if (this.options.authAtUpgrade || token === (this.options.token ?? TOKEN)) this.welcome(peer);
    else socket.close(4001, "unauthorized");
  }

  private welcome(peer: Peer): void {
    const go = (): void => {
      if (peer.closed !== undefined || this.silent) return;
      peer.authenticated = true;
      this.send(peer, { type: "welcome", conn: peer.conn, heartbeat_ms: this.options.heartbeatMs ?? 15_000, protocol: 1 });
    };
    const delay = this.options.welcomeDelayMs;
    if (delay === undefined) go();
    else peer.timers.set("welcome", setTimeout(go, delay));
  }

  private send(peer: Peer, message: Json): void {
    if (this.silent || peer.closed !== undefined || peer.socket.readyState !== 1) return;
    peer.socket.send(JSON.stringify(message));
    peer.lastSent = Date.now();
  }

  /** Send `message` as a binary frame with `blobs` as its attachments. */
  sendFrame(peer: Peer, message: Json, blobs: Buffer[]): void {
    if (this.silent || peer.closed !== undefined || peer.socket.readyState !== 1) return;
    peer.socket.send(buildFrame(message, blobs), { binary: true });
    peer.lastSent = Date.now();
  }

  private tick(heartbeatMs: number): void {
    if (this.silent) return;
    for (const p of this.welcomed) if (p.closed === undefined && Date.now() - p.lastSent >= heartbeatMs) this.send(p, { type: "ping" });
  }

  private handle(peer: Peer, frame: Json, blobs?: Buffer[]): void {
    // Nothing is routed before the welcome (a delayed one): a frame then closes 4001.
    if (!peer.authenticated) {
      peer.socket.close(4001, "unauthorized");
      return;
    }
    switch (frame.type) {
      case "ping":
        this.send(peer, { type: "pong" });
        return;
      case "call":
        this.calls.set(String(frame.method), (this.calls.get(String(frame.method)) ?? 0) + 1);
        this.call(peer, frame.id as number, String(frame.method), (frame.params ?? {}) as Json, blobs);
        return;
      case "cancel": {
        const timer = peer.timers.get(frame.id);
        if (timer !== undefined) {
          clearTimeout(timer);
          peer.timers.delete(frame.id);
        }
        if (peer.streams.delete(frame.id)) {
          const error = { name: "CancelledError", code: "cancelled", message: "the call was cancelled by the caller", data: null };
          this.send(peer, { type: "call_result", id: frame.id, ok: false, error });
        }
        return;
      }
      case "ack": {
        const stream = peer.streams.get(frame.id);
        if (stream !== undefined && typeof frame.seq === "number" && frame.seq > stream.acked) {
          stream.acked = frame.seq;
          this.pump(peer, frame.id);
        }
        return;
      }
      case "event":
        if (frame.event === "client_event") this.send(peer, { type: "event", event: "client_event_seen", payload: frame.detail });
        return;
    }
  }

  /** Send what the window of stream `id` allows; its reply once every item is out. */
  private pump(peer: Peer, id: unknown): void {
    const stream = peer.streams.get(id);
    if (stream === undefined) return;
    while (stream.sent < stream.n && stream.sent - stream.acked < stream.window) {
      stream.sent += 1;
      this.send(peer, { type: "item", id, seq: stream.sent, item: stream.sent - 1 });
    }
    if (stream.sent === stream.n) {
      peer.streams.delete(id);
      this.send(peer, { type: "call_result", id, ok: true, result: null });
    }
  }

  private call(peer: Peer, id: number, method: string, params: Json, blobs: Buffer[] = []): void {
    const ok = (result: unknown): void => this.send(peer, { type: "call_result", id, ok: true, result });
    const error = (name: string, code: string, message: string, data: unknown = null): void =>
      this.send(peer, { type: "call_result", id, ok: false, error: { name, code, message, data } });
    if (COUNTED.has(method)) this.invocations++;
    switch (method) {
      case "api.invocations":
        return ok(this.invocations);
      case "api.echo":
        return ok(params.value ?? null);
      case "api.add": {
        const { a, b } = params as { a: number; b: number };
        if (typeof b !== "number" || b < 0) {
          this.invocations--; // refused by validation: the handler never ran
          return error("ValidationError", "invalid_params", "b: must be >= 0", { errors: [{ loc: ["b"], msg: "must be >= 0" }] });
        }
        return ok({ total: a + b });
      }
      case "api.fail": {
        const what = (params.what as string | undefined) ?? "thing";
        return error("NotFound", "not_found", `no ${what} here`, { what });
      }
      case "api.sleep": {
        const seconds = params.seconds as number;
        peer.timers.set(
          id,
          setTimeout(() => {
            peer.timers.delete(id);
            ok(seconds);
          }, seconds * 1000),
        );
        return;
      }
      case "api.count": {
        // A stream: items 0..n-1 as frames numbered from 1, then `null`.
        const n = (params.n as number | undefined) ?? 0;
        peer.streams.set(id, { n, window: (params.window as number | undefined) ?? 256, sent: 0, acked: 0 });
        this.pump(peer, id);
        return;
      }
      case "api.bytes": {
        // A binary command: `{data: bytes}` → `{data: bytes, reversed: bytes, size}`, the
        // reply a binary frame (its attachments: the data as received, then reversed).
        const index = (params.data as { $bin?: unknown } | undefined)?.$bin;
        if (typeof index !== "number" || blobs[index] === undefined) {
          return error("ValidationError", "invalid_params", "data: expected bytes");
        }
        const data = blobs[index];
        const result = { data: { $bin: 0 }, reversed: { $bin: 1 }, size: data.length };
        return this.sendFrame(peer, { type: "call_result", id, ok: true, result }, [data, Buffer.from(data).reverse()]);
      }
      case "api.emit": {
        const count = (params.count as number | undefined) ?? 1;
        for (let i = 0; i < count; i++) this.send(peer, { type: "event", event: params.event as string, payload: { ...(params.payload as Json), i } });
        return ok(count);
      }
      default:
        return error("MethodNotFound", "method_not_found", `no command named "${method}"`);
    }
  }
}

/** A binary frame (docs/binary.md) of `message` and `blobs`, built here byte by byte. */
export function buildFrame(message: unknown, blobs: Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(message), "utf8");
  const head = Buffer.alloc(9 + 4 * blobs.length);
  head.writeUInt8(0, 0);
  head.writeUInt32LE(json.length, 1);
  head.writeUInt32LE(blobs.length, 5);
  blobs.forEach((b, i) => head.writeUInt32LE(b.length, 9 + 4 * i));
  return Buffer.concat([head, json, ...blobs]);
}

/** A binary frame's message and attachments, or undefined when it is not one. */
export function parseFrame(data: Buffer): { message: Json; blobs: Buffer[] } | undefined {
  if (data.length < 9 || data[0] !== 0) return undefined;
  const jsonLength = data.readUInt32LE(1);
  const count = data.readUInt32LE(5);
  if (9 + 4 * count > data.length) return undefined;
  const lengths = Array.from({ length: count }, (_, i) => data.readUInt32LE(9 + 4 * i));
  let at = 9 + 4 * count;
  if (at + jsonLength + lengths.reduce((a, b) => a + b, 0) !== data.length) return undefined;
  const message = JSON.parse(data.subarray(at, at + jsonLength).toString("utf8")) as Json;
  at += jsonLength;
  const blobs = lengths.map((length) => {
    const blob = data.subarray(at, at + length);
    at += length;
    return blob;
  });
  return { message, blobs };
}

/** Resolve when `predicate` holds (polled), reject after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 2000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
