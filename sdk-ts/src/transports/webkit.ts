// Owns the in-window transport: WebKit's `ipc` message handler out, `__auroraview_receive` in.
//
// Every message carries this document's key: a random value made here, announced first of
// all with `hello`, and kept in this closure. A frame that can reach the message handler but
// not this closure (an iframe) cannot produce it, so the host refuses its messages
// (RELIABILITY.md cases 17 and 18). Envelopes are built by string concatenation, so the key
// never sits in an object a page hook (`Object.prototype.toJSON`, a replaced
// `JSON.stringify`) could see. Replies and events come back as data: the host calls the one
// pre-registered receiver with the same key and a JSON string holding a batch of frames;
// nothing it sends is evaluated as code built from payloads. Any script of the page can call
// the receiver too, but without the key it is ignored (RELIABILITY.md case 28): only the host
// delivers replies and events. The host knows the key from `hello`; a delivery meant for an
// older document carries that document's key, and the new one ignores it as well.

import { create, isArray, jsonParse, jsonStringify } from "../intrinsics.js";
import type { ClientMessage, HostMessage } from "../protocol.gen.js";
import type { Transport, TransportSink, TransportState } from "../transport.js";

interface IpcLike {
  postMessage(message: string): void;
}

/** The transport of the injected bridge. Create it before any page script runs. */
export function webkitTransport(): Transport {
  // Taken now, before page scripts: what a page later does to these globals cannot observe
  // or redirect what is sent.
  const stringify = jsonStringify;
  const parse = jsonParse;
  const webkit = (window as unknown as { webkit?: { messageHandlers?: Record<string, IpcLike> } }).webkit;
  const handler = webkit?.messageHandlers?.ipc;
  /** Where messages go, once known (wry's `window.ipc` may appear later). */
  let channel: ((text: string) => void) | undefined =
    handler && typeof handler.postMessage === "function" ? handler.postMessage.bind(handler) : undefined;
  // Messages waiting for the channel (they hold the key): slots of a prototype-less object
  // rather than an array, whose push/shift a page script could replace to read them.
  const outbox = create(null) as Record<number, string>;
  let head = 0;
  let tail = 0;
  let state: TransportState = "connecting";
  let sink: TransportSink | undefined;
  /** Receiver calls without this document's key (page scripts), ignored. */
  let refused = 0;

  const key = (() => {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    let hex = "";
    for (let i = 0; i < bytes.length; i++) hex += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return hex;
  })();
  const keyField = ',"key":"' + key + '"';

  /** `,"name":json` for a value given, nothing for one that is absent or not JSON. */
  function field(name: string, value: unknown): string {
    if (value === undefined) return "";
    const json = stringify(value) as string | undefined;
    return json === undefined ? "" : ',"' + name + '":' + json;
  }

  function id(value: number | string): string {
    return typeof value === "number" ? "" + value : stringify(value);
  }

  function encode(m: ClientMessage): string {
    switch (m.type) {
      case "call":
        return '{"type":"call"' + keyField + ',"id":' + id(m.id) + field("method", m.method) + field("params", m.params) + "}";
      case "event":
        return '{"type":"event"' + keyField + field("event", m.event) + field("detail", m.detail) + "}";
      case "cancel":
        return '{"type":"cancel"' + keyField + ',"id":' + id(m.id) + "}";
      case "ack":
        return '{"type":"ack"' + keyField + ',"id":' + id(m.id) + ',"seq":' + stringify(m.seq) + "}";
      case "ready":
      case "hello":
      case "ping":
      case "pong":
        return '{"type":"' + m.type + '"' + keyField + "}";
    }
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
    while (head < tail) {
      const text = outbox[head];
      delete outbox[head++];
      send(text);
    }
  }

  function post(text: string): void {
    if (channel && head === tail) {
      channel(text); // the common case: nothing queued ahead of this message
      return;
    }
    outbox[tail++] = text;
    flush();
  }

  /** The receiver the host calls with this document's key and a JSON array of frames (a
   * string: data, not code). A call without the key is not the host's: ignored, counted. */
  function receive(from: unknown, batch: unknown): void {
    if (from !== key || typeof batch !== "string") {
      if (refused++ === 0) {
        // Once, and never with the key: the page's console is the page's.
        console.warn("auroraview: ignored a delivery that is not from the host (only the host delivers replies and events); later ones are ignored silently");
      }
      return;
    }
    let frames: unknown;
    try {
      frames = parse(batch);
    } catch (err) {
      console.error("auroraview: undecodable batch from the host", err);
      return;
    }
    if (!isArray(frames)) {
      console.error("auroraview: a batch from the host is not an array");
      return;
    }
    sink?.receive(frames as HostMessage[]);
  }

  function open(): void {
    post('{"type":"ready"' + keyField + "}"); // the host holds replies and events until it sees this
    flush();
    state = "open";
    sink?.setState("open");
  }

  // Open once the page's own scripts could register for `auroraviewready`, and once wry's
  // channel exists; messages sent before that wait in the outbox, none is lost.
  function whenChannel(): void {
    if (ipc()) {
      open();
      return;
    }
    const poll = setInterval(() => {
      if (ipc()) {
        clearInterval(poll);
        open();
      }
    }, 1);
  }

  return {
    get state() {
      return state;
    },
    attach(target: TransportSink): void {
      if (sink) throw new Error("auroraview: the WebKit transport is attached already");
      sink = target;
      // The key binds to this document before any of its own scripts (or frames) exist.
      post('{"type":"hello"' + keyField + "}");
      Object.defineProperty(window, "__auroraview_receive", { value: receive, writable: false, configurable: false });
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", whenChannel, { once: true });
      } else {
        setTimeout(whenChannel, 0);
      }
    },
    send(message: ClientMessage): void {
      post(encode(message));
    },
    refused: () => refused,
  };
}
