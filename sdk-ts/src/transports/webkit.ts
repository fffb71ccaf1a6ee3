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
//
// Binary calls (docs/binary.md) do not fit the message handler (strings only): each is one
// `POST` of a binary frame to BINARY_CALL_URL, with the key in the `X-AuroraView-Key` header
// (the host refuses the request with 403 before reading the body without it) and in the
// frame's JSON as in every message. Its reply is the response body, a frame too. Everything
// that request goes through is taken before page scripts run: `fetch` when the transport is
// made, `Response`'s `status` and `arrayBuffer` and `Promise.prototype.then` when the module
// loads; the request's options are prototype-less objects (a getter a page put on
// `Object.prototype` for an option the request does not set would see them, key included);
// and the body is one `Uint8Array`, never a `Blob` (Blob bodies crashed the host's scheme
// handler). A page that replaces `window.fetch` later neither sees nor redirects the request.

import { decodeFrame, encodeFrame, partsOf } from "../frame.js";
import { create, getOwnPropertyDescriptor, isArray, jsonParse, jsonStringify, reflectApply, whenSettled } from "../intrinsics.js";
import type { CallId, ClientMessage, ErrorCode, HostMessage } from "../protocol.gen.js";
import type { CallMessage, Transport, TransportSink, TransportState } from "../transport.js";

/** Where a window's page sends binary calls: one `POST` of a frame each (docs/binary.md). */
export const BINARY_CALL_URL = "auroraview://localhost/__auroraview/call";
/** A frame larger than this is posted in parts of this size, each naming its upload in the
 * `X-AuroraView-Upload` header (`<upload>;more`, then `<upload>;last`): WebKit holds a
 * request body twice in the host's process before the host reads it, so a 100 MiB frame
 * posted whole would cost it 200 MiB more (docs/binary.md, "Memory"). The host reads bodies
 * in chunks of this size too. */
export const UPLOAD_PART_BYTES = 33 * 1024 * 1024;
const UPLOAD_HEADER = "X-AuroraView-Upload";
/** The request header that carries the document key on a binary call. */
export const KEY_HEADER = "X-AuroraView-Key";

// `Response`'s members as they were when the bridge loaded (absent in a bare VM: the
// response's own are used then).
const ResponseIntrinsic = (globalThis as { Response?: typeof Response }).Response;
const responseStatus = ResponseIntrinsic === undefined ? undefined : getOwnPropertyDescriptor(ResponseIntrinsic.prototype, "status")?.get;
const responseArrayBuffer = ResponseIntrinsic === undefined ? undefined : ResponseIntrinsic.prototype.arrayBuffer;

function statusOf(response: Response): number {
  return responseStatus === undefined ? response.status : (reflectApply(responseStatus, response, []) as number);
}

function bodyOf(response: Response): Promise<ArrayBuffer> {
  return responseArrayBuffer === undefined ? response.arrayBuffer() : (reflectApply(responseArrayBuffer, response, []) as Promise<ArrayBuffer>);
}

function reasonOf(err: unknown): string {
  const message = typeof err === "object" && err !== null ? (err as { message?: unknown }).message : undefined;
  return typeof message === "string" ? message : String(err);
}

/** The error a binary call gets when the host refused the request with `status` (and sent no
 * reply of its own in the body). */
function refusal(status: number): { code: ErrorCode; name: string; message: string } {
  if (status === 403) {
    return {
      code: "forbidden",
      name: "Forbidden",
      message: "the host refused the binary call (HTTP 403): the request did not carry this document's key or came from the wrong origin",
    };
  }
  if (status === 413) {
    return {
      code: "payload_too_large",
      name: "PayloadTooLarge",
      message: "the binary call is larger than the host accepts (HTTP 413: max_binary_bytes or max_message_bytes)",
    };
  }
  if (status === 429) {
    return {
      code: "overloaded",
      name: "Overloaded",
      message: "too many large binary calls are being posted at once (HTTP 429): the host holds 16 uploads in progress per page",
    };
  }
  return { code: "disconnected", name: "Disconnected", message: `the host answered the binary call with HTTP ${status} and no reply` };
}

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
  const fetcher = (window as unknown as { fetch?: unknown }).fetch;
  // Messages waiting for the channel (they hold the key): slots of a prototype-less object
  // rather than an array, whose push/shift a page script could replace to read them.
  const outbox = create(null) as Record<number, string>;
  let head = 0;
  let tail = 0;
  // Binary calls made before `open` (their frames hold the key): the host learns the key
  // from `hello`, which may still wait in the outbox, so they leave once it has gone. A slot
  // is emptied when its call is cancelled before that: it never leaves.
  const binaryOutbox = create(null) as Record<number, { id: CallId; frame: Uint8Array } | undefined>;
  let binaryHead = 0;
  let binaryTail = 0;
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
  // The binary request's header, as a prototype-less record (see the header comment).
  const headers = create(null) as Record<string, string>;
  headers[KEY_HEADER] = key;
  /** The number naming the next frame posted in parts. */
  let uploads = 0;

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

  /** The reply to binary call `id` in a response body: a frame holding its `call_result`,
   * or undefined when the body is anything else (empty, text, another call's reply). */
  function replyIn(id: CallId, body: ArrayBuffer): { message: HostMessage; blobs: Uint8Array[] } | undefined {
    try {
      const frame = decodeFrame(body);
      const message = parse(frame.json) as { type?: unknown; id?: unknown } | null;
      if (message === null || typeof message !== "object" || message.type !== "call_result" || message.id !== id) return undefined;
      return { message: message as HostMessage, blobs: frame.blobs };
    } catch {
      return undefined;
    }
  }

  /** POST binary call `id`'s frame. Whatever happens (a reply, a refused request, no
   * response at all), the call gets exactly one reply: a failure is given the `call_result`
   * the host would have sent. */
  function postBinary(id: CallId, frame: Uint8Array): void {
    let answered = false;
    const fail = (code: ErrorCode, name: string, message: string): void => {
      if (answered) return;
      answered = true;
      sink?.receive([{ type: "call_result", id, ok: false, error: { name, code, message, data: null } }]);
    };
    const unreachable = (err: unknown): void => fail("disconnected", "Disconnected", "the binary call could not reach the host: " + reasonOf(err));
    const refused = (status: number): void => {
      const why = refusal(status);
      fail(why.code, why.name, why.message);
    };
    const responded = (response: Response): void => {
      const status = statusOf(response);
      whenSettled(
        bodyOf(response),
        (body) => {
          // An error status may still carry the host's own reply (a frame): it says more.
          const reply = replyIn(id, body);
          if (reply !== undefined && !answered) {
            answered = true;
            sink?.receiveBinary(reply.message, reply.blobs);
          } else if (status === 200) {
            fail("internal", "InternalError", "the host's answer to a binary call is not a binary frame holding its reply");
          } else {
            refused(status);
          }
        },
        (err) => (status === 200 ? unreachable(err) : refused(status)),
      );
    };
    /** POST one body: `part` names it as a part of an upload, `then` takes the response. */
    const send = (body: Uint8Array, part: string | undefined, then: (response: Response) => void): void => {
      const init = create(null) as RequestInit;
      init.method = "POST";
      if (part === undefined) {
        init.headers = headers;
      } else {
        const partHeaders = create(null) as Record<string, string>;
        partHeaders[KEY_HEADER] = key;
        partHeaders[UPLOAD_HEADER] = part;
        init.headers = partHeaders;
      }
      init.body = body as unknown as BodyInit; // a Uint8Array over our own buffer (never a Blob)
      init.credentials = "omit"; // the key is the credential: no cookie needs to go along
      init.redirect = "error"; // a redirect would take the key header elsewhere
      try {
        const request = reflectApply(fetcher as typeof fetch, window, [BINARY_CALL_URL, init]) as Promise<Response>;
        whenSettled(
          request,
          (response) => {
            try {
              then(response);
            } catch (err) {
              unreachable(err); // not a Response (a test's fake), or its body is gone
            }
          },
          unreachable,
        );
      } catch (err) {
        unreachable(err); // a fetch that throws at once (a bad URL scheme, no fetch at all)
      }
    };
    const parts = partsOf(frame, UPLOAD_PART_BYTES);
    if (parts.length === 1) {
      send(frame, undefined, responded);
      return;
    }
    // In parts, one at a time and in order: each waits for the host to have kept the last.
    const upload = "" + uploads;
    uploads = (uploads + 1) % 0x100000000;
    let next = 0;
    const sendPart = (): void => {
      const index = next++;
      if (index === parts.length - 1) {
        send(parts[index], upload + ";last", responded);
        return;
      }
      send(parts[index], upload + ";more", (response) => {
        const status = statusOf(response);
        if (status === 204) sendPart();
        else refused(status);
      });
    };
    sendPart();
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

  /** Send binary call `message` (see the header): at once when open, else once open. */
  function sendBinary(message: CallMessage, blobs: readonly Uint8Array[]): void {
    // Framed now: the caller may reuse its buffers once the call is made.
    const frame = encodeFrame(encode(message), blobs);
    const id = message.id;
    if (state === "open") postBinary(id, frame);
    else binaryOutbox[binaryTail++] = { id, frame };
  }

  /** Take binary call `id` out of the outbox; whether it was there. */
  function withdrawBinary(id: CallId): boolean {
    for (let i = binaryHead; i < binaryTail; i++) {
      const waiting = binaryOutbox[i];
      if (waiting !== undefined && waiting.id === id) {
        binaryOutbox[i] = undefined;
        return true;
      }
    }
    return false;
  }

  function open(): void {
    post('{"type":"ready"' + keyField + "}"); // the host holds replies and events until it sees this
    flush();
    while (binaryHead < binaryTail) {
      const waiting = binaryOutbox[binaryHead];
      delete binaryOutbox[binaryHead++];
      if (waiting !== undefined) postBinary(waiting.id, waiting.frame);
    }
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
      // Cancelling a binary call that never left: it never will, and there is nothing to cancel.
      if (message.type === "cancel" && binaryHead < binaryTail && withdrawBinary(message.id)) return;
      post(encode(message));
    },
    // Without `fetch` (no window has none) the client refuses binary calls itself.
    sendBinary: typeof fetcher === "function" ? sendBinary : undefined,
    refused: () => refused,
  };
}
