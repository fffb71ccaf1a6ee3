// Owns the contract between the client and whatever carries its messages to the host.
//
// The client keeps every piece of call bookkeeping (ids, pending calls, timeouts, listeners);
// a transport only moves messages. That keeps the rules (one settlement per call, what a
// lost connection does to calls in flight) in one place for WebKit IPC, a WebSocket, or a
// test's fake.

import type { ClientMessage, HostMessage } from "./protocol.gen.js";

/**
 * `connecting`: messages may be queued but the host may not have seen them yet (first
 * connection, or a reconnection). `open`: the host receives and answers. `closed`: for good.
 */
export type TransportState = "connecting" | "open" | "closed";

/** The message that starts a call: what `Transport.sendBinary` carries with attachments. */
export type CallMessage = Extract<ClientMessage, { type: "call" }>;

/** What a transport reports to the client it is attached to. */
export interface TransportSink {
  /** Frames from the host, in the order they arrived. */
  receive(frames: readonly HostMessage[]): void;
  /**
   * The connection changed. Leaving `open` (for `connecting`: a reconnection; or `closed`)
   * means the host forgot every call in flight, so the client rejects them all with
   * `disconnected`; becoming `closed` before ever opening does the same. `reason` ends up in
   * those errors' messages.
   */
  setState(state: TransportState, reason?: string): void;
  /**
   * A message from the host that came as a binary frame (docs/binary.md): a `call_result`
   * whose `result` may hold `{"$bin": i}` placeholders standing for `blobs[i]`. The client
   * puts the attachments back, then settles the call as `receive` would.
   */
  receiveBinary(message: HostMessage, blobs: Uint8Array[]): void;
}

/** Carries messages between one client and the host. */
export interface Transport {
  /** The state right now; changes are reported through `TransportSink.setState`. */
  readonly state: TransportState;
  /** Called once, by the client, before any `send`. */
  attach(sink: TransportSink): void;
  /**
   * Hand one message to the host (the transport adds whatever the connection needs, such
   * as the page key, and serialises it). Throwing means the message was not sent: the client
   * rejects that call with `disconnected`. A transport that can queue (while `connecting`)
   * should queue rather than throw.
   */
  send(message: ClientMessage): void;
  /**
   * Hand a call with raw attachments to the host: `message.params` holds `{"$bin": i}` where
   * `blobs[i]` goes (docs/binary.md). The transport builds the frame itself (`encodeFrame`)
   * so that it can add to the JSON what its `send` adds (the page key), and copies the blobs
   * before it returns. Throwing means the call was not sent, as for `send`; a call that was
   * sent gets exactly one reply (`receiveBinary` or `receive`), even when the host refuses
   * the request itself. Optional: a client over a transport without it rejects calls with
   * binary params (code `internal`) rather than mangling the bytes into JSON.
   */
  sendBinary?(message: CallMessage, blobs: readonly Uint8Array[]): void;
  /** Deliveries refused as not coming from the host (a forged receiver call, an untrusted
   * socket event), for `stats().refused`. Optional. */
  refused?(): number;
}
